#include "runtime.h"

int main(int argc, char **argv) { return meter_main(argc, argv); }
