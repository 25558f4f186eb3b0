// The host board's toolchain: the system gcc, producing out/host/meter (a POSIX process).
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import {
  type BoardBuildContext,
  type CompileJob,
  PROJECT_CFLAGS,
  THIRD_PARTY_CFLAGS,
  boardSources,
  commonSources,
  compileAll,
  duktapeUnitJob,
  includeDirs,
  objectPath,
  isThirdParty,
  run,
  writeBoardConfig,
} from "../cbuild.ts";

const CC = "gcc";
// 32-bit like the meter MCUs: the same value and pointer sizes, so the JS heap a host run
// measures is the heap a meter needs (on x86-64 every Duktape value takes twice the bytes).
const ARCH = ["-m32"];
const LIBS = ["-lm"];
// DTLS offload (hal/dtls): Debian's mbedTLS has no MBEDTLS_PLATFORM_MEMORY, so it is linked
// statically with calloc/free wrapped; hal/dtls/dtls_alloc_wrap.c sends a session's
// allocations to that session's static pool (board.json hal.dtls.sessionBytes).
const MBEDTLS_LIBS = ["-Wl,--wrap=calloc", "-Wl,--wrap=free", "-Wl,-Bstatic", "-lmbedtls", "-lmbedx509", "-lmbedcrypto", "-Wl,-Bdynamic"];
const DTLS_DIR = "hal/dtls";

function dtlsSources(root: string): string[] {
  const dir = join(root, DTLS_DIR);
  return existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith(".c")).sort().map((f) => join(dir, f)) : [];
}

/** Compiles the shared C, the board's drivers, Duktape and gen/app_image.c, and links
 * out/<board>/meter. Returns the executable's path. */
export async function compileBoard(ctx: BoardBuildContext): Promise<string> {
  const appImage = join(ctx.genDir, "app_image.c");
  if (!existsSync(appImage)) throw new Error(`${appImage} is missing: the app image step must run first`);
  writeBoardConfig(ctx.board, ctx.genDir);
  const objDir = join(ctx.outDir, "obj");
  mkdirSync(objDir, { recursive: true });
  const inc = [...includeDirs(ctx.root, ctx.board.name, ctx.genDir), join(ctx.root, DTLS_DIR)].map((d) => `-I${d}`);
  const projectJob = (src: string): CompileJob => ({ cc: CC, src, obj: objectPath(ctx.root, objDir, src), flags: [...ARCH, ...PROJECT_CFLAGS, ...inc] });
  const common = commonSources(ctx.root, { mbedtls: true });
  const jobs: CompileJob[] = [
    ...common.filter((s) => !isThirdParty(ctx.root, s)).map(projectJob),
    ...boardSources(ctx.root, ctx.board.name).map(projectJob),
    ...dtlsSources(ctx.root).map(projectJob),
    { cc: CC, src: appImage, obj: join(objDir, "app_image.o"), flags: [...ARCH, ...THIRD_PARTY_CFLAGS, ...inc] },
    // Shared with out/tools/dukdump: same compiler, same flags, same configuration.
    duktapeUnitJob(ctx.root, CC, ARCH),
  ];
  const objs = await compileAll(jobs);
  const exe = join(ctx.outDir, "meter");
  await run(CC, [...ARCH, ...objs, "-Wl,--gc-sections", "-Wl,--as-needed", "-o", exe, ...LIBS, ...MBEDTLS_LIBS]);
  return exe;
}
