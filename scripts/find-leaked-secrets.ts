/**
 * Secrets the test suite hands out (fake provider tokens, API tokens, session cookies, the test
 * keyring): none of them may appear in anything the suite's processes print. Returns the
 * offending lines with the secret itself masked.
 */
export function findLeakedSecrets(output: string, keyring: string | undefined): string[] {
  const patterns = [
    /ghp_[A-Za-z0-9_-]{10,}/,
    /glpat-[A-Za-z0-9_-]{10,}/,
    // An API token: random base64url, so never lower case and underscores only as a metric's name is.
    /\bdc_(?=[a-z_-]*[A-Z0-9])[A-Za-z0-9_-]{20,}/,
    /\beyJ[A-Za-z0-9_-]{20,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]{10,}/,
    /\bdbx-token\b/,
  ];
  const keys = (keyring ?? "")
    .split(",")
    .map((entry) => entry.slice(entry.indexOf(":") + 1))
    .filter((key) => key.length >= 16);
  const leaks: string[] = [];
  for (const line of output.split("\n")) {
    const hit = patterns.find((p) => p.test(line)) ?? keys.find((k) => line.includes(k));
    if (!hit) continue;
    const masked =
      typeof hit === "string" ? line.replaceAll(hit, "[key]") : line.replace(new RegExp(hit, "g"), "[secret]");
    leaks.push(masked.slice(0, 300));
  }
  return leaks;
}
