/** Thrown for a file that cannot be read at all (missing, a directory, unreadable, too large inflated). */
export class DatasetReadError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly fix: string,
  ) {
    super(message);
    this.name = 'DatasetReadError';
  }
}

/** Thrown by getRow when the bytes on disk no longer match the index (the file changed since it was read). */
export class DatasetChangedError extends Error {
  constructor(readonly file: string, readonly line: number) {
    super(`${file}:${line}: the file changed on disk since it was read; reopen it to see the current rows.`);
    this.name = 'DatasetChangedError';
  }
}
