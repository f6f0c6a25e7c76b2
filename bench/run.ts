// How every benchmark ends: its exit code (1 when a bar was missed), or 1 with the error when it
// could not run.

export function runBenchmark(main: () => Promise<number>): void {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
