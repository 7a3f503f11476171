import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { RelativeTime } from "@/components/relative-time";
import { actorOf, requireUser } from "@/lib/auth/current-user";
import { filePageData } from "@/lib/dashboard";
import { formatBytes } from "@/lib/format";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "File" };

export default async function FilePage({
  params,
  searchParams,
}: {
  params: Promise<{ id: string }>;
  searchParams: Promise<{ path?: string }>;
}) {
  const user = await requireUser();
  const { id } = await params;
  const { path } = await searchParams;
  if (!/^[0-9a-f-]{36}$/i.test(id) || !path) notFound();
  const { source, file, content, chunks } = await filePageData(actorOf(user), id, path);
  return (
    <div className="space-y-6">
      <nav aria-label="Breadcrumb" className="break-all text-sm text-zinc-500">
        <Link href="/" className="hover:underline">
          Sources
        </Link>{" "}
        /{" "}
        <Link href={`/sources/${source.id}`} className="hover:underline">
          {source.name}
        </Link>{" "}
        / <span>{file.path}</span>
      </nav>
      <h1 className="break-all font-mono text-xl font-semibold">{file.path}</h1>
      <dl className="grid grid-cols-2 gap-4 rounded-lg border border-zinc-200 p-4 text-sm sm:grid-cols-5 dark:border-zinc-800">
        <div>
          <dt className="text-xs text-zinc-500">Language</dt>
          <dd>{file.language ?? "—"}</dd>
        </div>
        <div>
          <dt className="text-xs text-zinc-500">Size</dt>
          <dd className="tabular-nums">{formatBytes(file.size)}</dd>
        </div>
        <div className="col-span-2 sm:col-span-1">
          <dt className="text-xs text-zinc-500">SHA-256</dt>
          <dd className="truncate font-mono text-xs" title={file.sha ?? undefined}>
            {file.sha ?? "—"}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-zinc-500">Modified</dt>
          <dd>
            <RelativeTime iso={file.lastModified} fallback="—" />
          </dd>
        </div>
        <div>
          <dt className="text-xs text-zinc-500">Indexed</dt>
          <dd>
            <RelativeTime iso={file.indexedAt} fallback="—" />
          </dd>
        </div>
      </dl>
      <section aria-labelledby="content-title">
        <h2 id="content-title" className="mb-2 text-lg font-semibold">
          Content
        </h2>
        <pre
          data-testid="file-content"
          className="max-h-[32rem] overflow-auto rounded-lg border border-zinc-200 bg-zinc-50 p-4 font-mono text-xs dark:border-zinc-800 dark:bg-zinc-900"
          tabIndex={0}
        >
          {content}
        </pre>
      </section>
      <section aria-labelledby="chunks-title">
        <h2 id="chunks-title" className="mb-2 text-lg font-semibold">
          Chunks <span className="text-sm font-normal text-zinc-500">({chunks.length})</span>
        </h2>
        {chunks.length === 0 ? (
          <p className="text-sm text-zinc-500">
            This file has no chunks (it is empty, or the pipeline downstream keeps them).
          </p>
        ) : (
          <ol className="space-y-3" aria-label="Chunks">
            {chunks.map((c) => (
              <li
                key={c.ordinal}
                data-testid="chunk"
                className="rounded-lg border border-zinc-200 dark:border-zinc-800"
              >
                <p className="border-b border-zinc-200 px-3 py-1.5 text-xs text-zinc-600 dark:border-zinc-800 dark:text-zinc-400">
                  Chunk {c.ordinal + 1} · lines {c.startLine}–{c.endLine}
                </p>
                <pre className="max-h-64 overflow-auto p-3 font-mono text-xs" tabIndex={0}>
                  {c.content}
                </pre>
              </li>
            ))}
          </ol>
        )}
      </section>
    </div>
  );
}
