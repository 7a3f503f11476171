import { createWriteStream } from "node:fs";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { ReadableStream as WebReadableStream } from "node:stream/web";
import { DropboxResponseError } from "dropbox";
import yauzl from "yauzl";
import { ConnectorError, ConnectorSyncError } from "../errors";
import { guardedFetch } from "../host-guard";
import { providerLimits } from "../provider-limits";
import { contentRouteUrl, toConnectorError } from "./client";

/**
 * files/download_zip's documented limits: the zip holds fewer than 10,000 entries (files and
 * folders, the top folder included), the folder is under 20 GB and each file under 4 GB.
 */
export const ZIP_MAX_ENTRIES = 10_000;
export const ZIP_MAX_FOLDER_BYTES = 20 * 1024 ** 3;
export const ZIP_MAX_FILE_BYTES = 4 * 1024 ** 3;

/** A folder's zip cannot serve (refused, over a limit, cut short): its files are read one by one. */
export class ZipUnavailableError extends ConnectorSyncError {
  constructor(
    readonly folder: string,
    readonly reason: string,
  ) {
    super(`The zip of ${folder} is unavailable (${reason}); its files are read one by one.`);
    this.name = "ZipUnavailableError";
  }
}

/** Dropbox-API-Arg must be ASCII: everything past 0x7e is sent as a JSON \u escape. */
const headerSafeJson = (value: unknown) =>
  JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

/**
 * Downloads `folder` as one zip (files/download_zip) into the file `dest`, written as it
 * arrives so no part of the archive is held in memory. Like a git archive it has no total time
 * limit, only PROVIDER_TIMEOUT_SECONDS between two parts; past `maxBytes` (the most the
 * wanted files justify) it is abandoned. A refusal (too_many_files, too_large, a path that is
 * no longer a folder), the cap and an answer cut short throw ZipUnavailableError; a refused
 * token, a rate limit or a server error throws as every other Dropbox call does.
 */
export async function downloadZip(token: string, folder: string, dest: string, maxBytes: number): Promise<void> {
  const what = `the zip of ${folder}`;
  let response: Response;
  try {
    response = await guardedFetch(
      contentRouteUrl("files/download_zip"),
      {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "dropbox-api-arg": headerSafeJson({ path: folder }) },
      },
      { stream: true, provider: "dropbox" },
    );
  } catch (err) {
    throw toConnectorError(err, what);
  }
  if (response.status !== 200) {
    const text = await response.text().catch(() => "");
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Dropbox answers some errors (400) in plain text.
    }
    if (response.status === 409) {
      const summary = (body as { error_summary?: string } | null)?.error_summary;
      throw new ZipUnavailableError(folder, summary || "409");
    }
    throw toConnectorError(new DropboxResponseError(response.status, response.headers, body), what);
  }
  if (!response.body) throw new ZipUnavailableError(folder, "an answer without a body");
  const declared = Number(response.headers.get("content-length") ?? NaN);
  const tooLarge = (bytes: number) =>
    new ZipUnavailableError(folder, `${bytes} bytes, more than the ${maxBytes} the wanted files justify`);
  if (declared > maxBytes) {
    await response.body.cancel();
    throw tooLarge(declared);
  }
  let seen = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      seen += chunk.length;
      if (seen > maxBytes) done(tooLarge(seen));
      else done(null, chunk);
    },
  });
  try {
    await pipeline(Readable.fromWeb(response.body as WebReadableStream<Uint8Array>), cap, createWriteStream(dest));
  } catch (err) {
    if (err instanceof ZipUnavailableError) throw err;
    throw new ZipUnavailableError(folder, `cut short after ${seen} bytes: ${(err as Error).message}`);
  }
  if (Number.isFinite(declared) && seen !== declared)
    throw new ZipUnavailableError(folder, `cut short: ${seen} of ${declared} bytes`);
  // An answer that ended early without an error has no end record: caught here, before any
  // entry is read, so that a caller may still choose another route for every file.
  (await openZip(dest, folder)).close();
}

async function openZip(file: string, folder: string): Promise<yauzl.ZipFile> {
  try {
    return await yauzl.openPromise(file, { lazyEntries: true, autoClose: true, decodeStrings: false });
  } catch (err) {
    throw new ZipUnavailableError(folder, `not a complete zip: ${(err as Error).message}`);
  }
}

export type ZipFileEntry = {
  /** The name in the zip: Dropbox prefixes every entry with the zipped folder's name. */
  name: string;
  size: number;
  /** The entry's bytes; fails when its data is damaged or not the size the zip declares. */
  read(): Promise<Buffer>;
};

/**
 * The file entries of a zip on disk, one at a time (folder entries skipped); an entry's bytes
 * are read only when asked for, so memory holds one file. Names are decoded without yauzl's
 * path checks (the entries are matched against a listing, never written to disk). A zip of
 * more than PROVIDER_MAX_ENTRIES entries fails.
 */
export async function* readZipEntries(file: string, folder: string): AsyncIterable<ZipFileEntry> {
  const zip = await openZip(file, folder);
  const { maxEntries } = providerLimits();
  let count = 0;
  for await (const entry of zip.eachEntry()) {
    if (++count > maxEntries)
      throw new ConnectorError(
        `The zip of ${folder} has more than ${maxEntries} entries, the limit for one archive (PROVIDER_MAX_ENTRIES).`,
      );
    const name = yauzl.getFileNameLowLevel(entry.generalPurposeBitFlag, entry.fileNameRaw, entry.extraFields, false);
    if (name.endsWith("/")) continue;
    yield {
      name,
      size: entry.uncompressedSize,
      read: async () => {
        const parts: Buffer[] = [];
        for await (const chunk of await zip.openReadStreamPromise(entry)) parts.push(chunk as Buffer);
        return Buffer.concat(parts);
      },
    };
  }
}
