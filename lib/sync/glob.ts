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

type GlobSource = { negated: false; source: string } | { negated: true; inner: string };

/**
 * `x*?` → `x*` (and `+?`, `??`): whether a whole path matches does not depend on laziness, and
 * RE2 runs greedy patterns on its DFA, many times faster than lazy ones on its NFA.
 */
function greedy(source: string): string {
  let out = "";
  let inClass = false;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    if (c === "\\") {
      out += c + (source[i + 1] ?? "");
      i++;
      continue;
    }
    out += c;
    if (inClass) inClass = c !== "]";
    else if (c === "[") inClass = true;
    else if ((c === "*" || c === "+" || (c === "?" && source[i - 1] !== "(")) && source[i + 1] === "?") i++;
  }
  return out;
}

/** The RE2 source of one glob with picomatch's semantics (`dot: true`), or GlobError. */
function globSource(pattern: string): GlobSource {
  if (pattern.length > MAX_GLOB_LENGTH) throw new GlobError(pattern, `is longer than ${MAX_GLOB_LENGTH} characters.`);
  // A leading `!` negates the whole pattern (picomatch's rule; `!(` starts an extglob instead).
  if (/^!(?!\()/.test(pattern)) return { negated: true, inner: pattern.slice(1) };
  let source: string;
  try {
    source = picomatch.makeRe(pattern, { dot: true }).source;
  } catch (err) {
    throw new GlobError(pattern, `is not a valid glob: ${(err as Error).message}`);
  }
  for (const assertion of PATH_SEGMENT_ASSERTIONS) source = source.replaceAll(assertion, "");
  source = greedy(source);
  if (LOOKAROUND.test(source))
    throw new GlobError(
      pattern,
      "cannot be matched in linear time (negated extglobs like !(...) are not supported): list what to leave out under exclude instead.",
    );
  return { negated: false, source };
}

function compileRe2(pattern: string, source: string): RE2JS {
  try {
    return RE2JS.compile(source);
  } catch (err) {
    throw new GlobError(pattern, `cannot be matched in linear time: ${(err as Error).message}`);
  }
}

/**
 * One matcher for a list of globs, true when any of them matches, in time linear in the
 * path's length: the patterns form one RE2 alternation, so a path is read once whatever their
 * number. Throws GlobError for a pattern that cannot be matched so (see globSource).
 */
export function compileGlobs(patterns: string[]): GlobMatcher {
  const sources: string[] = [];
  const literals = new Set<string>();
  const negated: GlobMatcher[] = [];
  for (const pattern of patterns) {
    const glob = globSource(pattern);
    if (glob.negated) {
      const inner = compileGlobs([glob.inner]);
      negated.push((path) => !inner(path));
    } else {
      sources.push(glob.source);
      // picomatch also takes a path equal to the pattern as a match (a name with glob characters).
      literals.add(pattern);
    }
  }
  const any = sources.length > 0 ? compileAlternation(patterns, sources) : null;
  return (path) => literals.has(path) || (any?.testExact(path) ?? false) || negated.some((match) => match(path));
}

function compileAlternation(patterns: string[], sources: string[]): RE2JS {
  try {
    return RE2JS.compile(sources.map((s) => `(?:${s})`).join("|"));
  } catch {
    // Name the pattern RE2 refuses.
    for (const pattern of patterns) {
      const glob = globSource(pattern);
      if (!glob.negated) compileRe2(pattern, glob.source);
    }
    throw new GlobError(patterns.join(", "), "cannot be matched in linear time.");
  }
}

/** Checks one glob: throws GlobError when it is refused. */
export function checkGlob(pattern: string): void {
  compileGlobs([pattern]);
}
