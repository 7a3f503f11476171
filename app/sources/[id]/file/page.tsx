import type { Metadata } from "next";
import Link from "next/link";
import { notFound } from "next/navigation";
import { CopyButton } from "@/components/copy-button";
import { FileLines } from "@/components/file-lines";
import { RelativeTime } from "@/components/relative-time";
import { sourceTypeLabel } from "@/lib/providers";
import { secondaryButtonClass } from "@/components/ui";
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
  const { source, file, lines, chunks, highlighted, providerUrl } = await filePageData(actorOf(user), id, path);
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
      <div className="flex flex-wrap items-center gap-3">
        <h1 className="break-all font-mono text-xl font-semibold">{file.path}</h1>
        <CopyButton text={file.path} label="Copy path" />
        {providerUrl && (
          <a href={providerUrl} target="_blank" rel="noreferrer noopener" className={secondaryButtonClass}>
            Open at {sourceTypeLabel(source.type)} ↗
          </a>
        )}
      </div>
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
          Content{" "}
          <span className="text-sm font-normal text-zinc-500">
            ({lines.length.toLocaleString("en")} lines · {chunks.length} chunk{chunks.length === 1 ? "" : "s"}
            {highlighted ? "" : " · not highlighted"})
          </span>
        </h2>
        <FileLines lines={lines} chunks={chunks} highlighted={highlighted} />
      </section>
    </div>
  );
}
