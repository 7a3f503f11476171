import picomatch from "picomatch";
import { RE2JS } from "re2js";
import { SyncStoppedError } from "./sync-stopped-error";

/** At most this many include (and this many exclude) patterns per source. */
export const MAX_GLOB_PATTERNS = 100;
/** At most this many characters per pattern. */
export const MAX_GLOB_LENGTH = 256;

/**
 * Lookaheads picomatch writes into its regular expressions that only refuse `.` and `..`
 * segments and empty names. Index paths never have those, so dropping them keeps every
 * match the same; what remains is run by RE2, in time linear in the path's length.
 */
const PATH_SEGMENT_ASSERTIONS = ["(?!(?:^|\\/)\\.{1,2}(?:\\/|$))", "(?!\\.{1,2}(?:\\/|$))", "(?=.)"];
const LOOKAROUND = /\(\?<?[=!]/;

/** A pattern refused; a source that stored one before it was refused stops syncing until it is edited. */
export class GlobError extends SyncStoppedError {
  constructor(
    readonly pattern: string,
    reason: string,
  ) {
    super(`The filter pattern "${pattern}" ${reason}`);
    this.name = "GlobError";
  }
}

export type GlobMatcher = (path: string) => boolean;

/**
 * Compiles one glob with picomatch's semantics (`dot: true`) to a matcher that runs in linear
 * time, or throws GlobError for a pattern that cannot be (negated extglobs such as `!(x)`).
 */
export function compileGlob(pattern: string): GlobMatcher {
  if (pattern.length > MAX_GLOB_LENGTH) throw new GlobError(pattern, `is longer than ${MAX_GLOB_LENGTH} characters.`);
  // A leading `!` negates the whole pattern (picomatch's rule; `!(` starts an extglob instead).
  if (/^!(?!\()/.test(pattern)) {
    const positive = compileGlob(pattern.slice(1));
    return (path) => !positive(path);
  }
  let source: string;
  try {
    source = picomatch.makeRe(pattern, { dot: true }).source;
  } catch (err) {
    throw new GlobError(pattern, `is not a valid glob: ${(err as Error).message}`);
  }
  for (const assertion of PATH_SEGMENT_ASSERTIONS) source = source.replaceAll(assertion, "");
  if (LOOKAROUND.test(source))
    throw new GlobError(
      pattern,
      "cannot be matched in linear time (negated extglobs like !(...) are not supported): list what to leave out under exclude instead.",
    );
  let regex: ReturnType<typeof RE2JS.compile>;
  try {
    regex = RE2JS.compile(source);
  } catch (err) {
    throw new GlobError(pattern, `cannot be matched in linear time: ${(err as Error).message}`);
  }
  return (path) => path === pattern || regex.testExact(path);
}

/** One matcher for a list of globs: true when any of them matches. */
export function compileGlobs(patterns: string[]): GlobMatcher {
  const matchers = patterns.map(compileGlob);
  return (path) => matchers.some((match) => match(path));
}
