// The budgets the meter must fit; `npm test` fails when one is exceeded and `npm run bench`
// prints each figure next to its budget.
export const BUDGETS = {
  bundleBytes: 48 * 1024,
  heapPeakBytes: 176 * 1024,
  cortexFlashBytes: 320 * 1024,
};
