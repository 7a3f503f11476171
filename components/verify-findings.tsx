import type { JobDto } from "@/lib/sources/schemas";

type VerifyResult = NonNullable<JobDto["verify"]>;

const KINDS = [
  ["missing", "Missing from the index"],
  ["extra", "In the index, not in the source"],
  ["differing", "Indexed version differs"],
] as const;

/** A verify job's finding: counts and example paths of each kind of difference. */
export function VerifyFindings({ result, detail }: { result: VerifyResult; detail: string | null }) {
  const drift = result.missing + result.extra + result.differing;
  return (
    <section aria-labelledby="verify-title" className="space-y-3">
      <h2 id="verify-title" className="text-lg font-semibold">
        {drift === 0 ? "The index is exact" : `Drift: ${drift.toLocaleString("en")} files`}
      </h2>
      {(detail || result.behind) && (
        <p className="text-sm text-zinc-600 dark:text-zinc-400">
          {detail ?? "The source moved on since the last sync; an incremental sync catches up."}
        </p>
      )}
      {KINDS.map(([kind, label]) =>
        result[kind] === 0 ? null : (
          <div key={kind}>
            <h3 className="text-sm font-medium">
              {label} ({result[kind].toLocaleString("en")})
            </h3>
            <ul className="mt-1 font-mono text-xs" aria-label={label}>
              {result.examples[kind].map((p) => (
                <li key={p} className="break-all" data-testid={`verify-${kind}`}>
                  {p}
                </li>
              ))}
              {result[kind] > result.examples[kind].length && (
                <li className="text-zinc-500">and {result[kind] - result.examples[kind].length} more</li>
              )}
            </ul>
          </div>
        ),
      )}
    </section>
  );
}
