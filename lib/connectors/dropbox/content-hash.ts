import { createHash } from "node:crypto";

/** Dropbox hashes content in blocks of this size. */
export const DROPBOX_BLOCK_SIZE = 4 * 1024 * 1024;

/**
 * Dropbox's `content_hash`: SHA-256 over the concatenated SHA-256 digests of each 4 MiB block
 * (https://www.dropbox.com/developers/reference/content-hash). Computed locally to check a
 * download against the listing that announced it.
 */
export function dropboxContentHash(content: Buffer): string {
  const overall = createHash("sha256");
  for (let offset = 0; offset < content.length; offset += DROPBOX_BLOCK_SIZE) {
    overall.update(
      createHash("sha256")
        .update(content.subarray(offset, offset + DROPBOX_BLOCK_SIZE))
        .digest(),
    );
  }
  return overall.digest("hex");
}
