"use client";

import { useQuery, useQueryClient } from "@tanstack/react-query";
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useRef, useState } from "react";
import { ApiError, apiFetch } from "@/lib/client/api";
import type { SourceDto } from "@/lib/sources/schemas";
import { ProgressBar } from "./progress-bar";
import { RelativeTime } from "./relative-time";
import { sourceTypeLabel } from "@/lib/providers";
import { StatusBadge } from "./status-badge";
import { VerifyStatus } from "./verify-status";
import { dangerButtonClass, errorAlertClass, secondaryButtonClass } from "./ui";

const isActive = (s: SourceDto) => s.latestJob?.status === "running" || s.latestJob?.status === "queued";

function where(source: SourceDto): string {
  const c = source.config as Record<string, unknown>;
  if (source.type === "local") return String(c.path ?? "");
  const parts = [c.repo ?? c.project ?? c.folderId ?? c.path ?? source.name, c.branch ? `@ ${String(c.branch)}` : null];
  return parts.filter(Boolean).map(String).join(" ");
}

/** The source's summary, live progress and actions. */
export function SourceOverview({ initial }: { initial: SourceDto }) {
  const client = useQueryClient();
  const { data, isRefetchError, error } = useQuery({
    queryKey: ["source", initial.id],
    queryFn: ({ signal }) => apiFetch<{ source: SourceDto }>(`/api/sources/${initial.id}`, { signal }),
    initialData: { source: initial },
    refetchInterval: (q) => (q.state.data && isActive(q.state.data.source) ? 1000 : 10_000),
  });
  const source = data.source;
  const job = source.latestJob;

  // When a sync ends, the file list and the job history have changed too.
  const lastStatus = useRef(job?.status);
  useEffect(() => {
    if (lastStatus.current !== job?.status) {
      lastStatus.current = job?.status;
      void client.invalidateQueries({ queryKey: ["files", source.id] });
      void client.invalidateQueries({ queryKey: ["jobs", source.id] });
    }
  }, [job?.status, source.id, client]);

  return (
    <section aria-labelledby="source-title" className="space-y-4">
      <nav aria-label="Breadcrumb" className="text-sm text-zinc-500">
        <Link href="/" className="hover:underline">
          Sources
        </Link>{" "}
        / <span>{source.name}</span>
      </nav>
      <div className="flex flex-wrap items-start justify-between gap-4">
        <div className="min-w-0">
          <h1 id="source-title" className="break-words text-2xl font-semibold">
            {source.name}
          </h1>
          <p className="mt-1 flex flex-wrap items-center gap-2 text-sm text-zinc-600 dark:text-zinc-400">
            <span>{sourceTypeLabel(source.type)}</span>
            <code className="break-all text-xs">{where(source)}</code>
            <StatusBadge status={source.status} testId="source-status" />
          </p>
        </div>
        <SourceActions source={source} />
      </div>
      <StatusDetail source={source} />
      {isRefetchError && (
        <p role="alert" className={errorAlertClass}>
          Could not refresh: {error.message}
        </p>
      )}
      <dl className="grid grid-cols-2 gap-4 rounded-lg border border-zinc-200 p-4 text-sm sm:grid-cols-5 dark:border-zinc-800">
        <div>
          <dt className="text-xs text-zinc-500">Files</dt>
          <dd className="tabular-nums" data-testid="file-count">
            {(source.fileCount ?? 0).toLocaleString("en")}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-zinc-500">Last sync</dt>
          <dd>
            <RelativeTime iso={source.lastSyncAt} />
          </dd>
        </div>
        <div>
          <dt className="text-xs text-zinc-500">Updates</dt>
          <dd>
            {source.type === "local" ? (
              "watched on disk"
            ) : source.webhookId && !source.nextPollAt ? (
              "webhook"
            ) : (
              <>
                scheduled poll
                {source.nextPollAt && (
                  <span className="block text-xs text-zinc-500" data-testid="next-poll">
                    next <RelativeTime iso={source.nextPollAt} />
                  </span>
                )}
              </>
            )}
          </dd>
        </div>
        <div>
          <dt className="text-xs text-zinc-500">Index</dt>
          <dd>
            <VerifyStatus verifiedAt={source.verifiedAt} drift={source.drift} status={source.status} />
          </dd>
        </div>
        <div>
          <dt className="text-xs text-zinc-500">Connected</dt>
          <dd>
            <RelativeTime iso={source.createdAt} />
          </dd>
        </div>
        <div className="col-span-2 h-12 sm:col-span-5">
          <dt className="sr-only">Latest sync</dt>
          <dd>
            {job ? (
              <div className="flex items-start gap-3">
                <Link href={`/jobs/${job.id}`} className="shrink-0 text-xs hover:underline">
                  {job.type === "redeliver" ? "redelivery" : `${job.type} sync`}{" "}
                  <StatusBadge status={job.status} testId="latest-job-status" />
                </Link>
                {job.status === "running" || job.status === "queued" ? (
                  <ProgressBar job={job} label={`Sync progress of ${source.name}`} />
                ) : (
                  <p className="line-clamp-2 text-xs text-zinc-600 dark:text-zinc-400">
                    {job.status === "failed" && job.errorMessage
                      ? job.errorMessage
                      : `${job.filesProcessed} indexed · ${job.filesSkipped} unchanged · ${job.filesFailed} failed`}
                  </p>
                )}
              </div>
            ) : (
              <p className="text-xs text-zinc-500">No sync yet.</p>
            )}
          </dd>
        </div>
      </dl>
    </section>
  );
}

/**
 * Why the source is in error or needs a new sign-in. A source in error can be synced with
 * deletions confirmed: what the deletion guard held back (files gone from the source) is removed.
 */
function StatusDetail({ source }: { source: SourceDto }) {
  const client = useQueryClient();
  const dialog = useRef<HTMLDialogElement>(null);
  const [busy, setBusy] = useState(false);
  const [message, setMessage] = useState<string | null>(null);
  if (!source.statusDetail || (source.status !== "error" && source.status !== "needs_reauth")) return null;

  async function confirmDeletes() {
    setBusy(true);
    setMessage(null);
    try {
      await apiFetch(`/api/sources/${source.id}/sync`, {
        method: "POST",
        body: { type: "full", confirmDeletes: true },
      });
      dialog.current?.close();
      await client.invalidateQueries({ queryKey: ["source", source.id] });
      await client.invalidateQueries({ queryKey: ["jobs", source.id] });
    } catch (err) {
      setMessage(err instanceof ApiError ? err.message : "The request failed.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <div role="alert" className={`${errorAlertClass} space-y-2`}>
      <p className="break-words" data-testid="source-status-detail">
        {source.statusDetail}
      </p>
      {source.status === "error" && (
        <button type="button" className={dangerButtonClass} onClick={() => dialog.current?.showModal()}>
          Delete and sync…
        </button>
      )}
      {message && <p className="text-xs">{message}</p>}
      <dialog
        ref={dialog}
        aria-labelledby="confirm-deletes-title"
        className="m-auto max-w-md rounded-lg border border-zinc-200 bg-white p-6 text-zinc-900 shadow-xl backdrop:bg-black/40 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-100"
      >
        <h2 id="confirm-deletes-title" className="text-lg font-semibold">
          Remove the missing files?
        </h2>
        <p className="mt-3 text-sm text-zinc-700 dark:text-zinc-300">
          A full sync runs and removes every indexed file that is no longer in the source, however many, from the index
          and from the pipeline. Do this only if they were removed on purpose; if the source is unreachable or
          incomplete (an unmounted folder, a wrong branch), fix that and sync again instead.
        </p>
        <div className="mt-6 flex justify-end gap-2">
          <button type="button" className={secondaryButtonClass} onClick={() => dialog.current?.close()} autoFocus>
            Keep the files
          </button>
          <button
            type="button"
            className={`${dangerButtonClass} bg-red-600 text-white hover:bg-red-700 dark:bg-red-700 dark:text-white`}
            disabled={busy}
            onClick={() => void confirmDeletes()}
          >
            {busy ? "Starting…" : "Delete and sync"}
          </button>
        </div>
      </dialog>
    </div>
  );
}

function SourceActions({ source }: { source: SourceDto }) {
  const client = useQueryClient();
  const router = useRouter();
  const [busy, setBusy] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const dialog = useRef<HTMLDialogElement>(null);
  const redeliverDialog = useRef<HTMLDialogElement>(null);
  const job = source.latestJob;
  const active = job && (job.status === "running" || job.status === "queued");

  async function act(name: string, run: () => Promise<unknown>) {
    setBusy(name);
    setMessage(null);
    try {
      await run();
      await client.invalidateQueries({ queryKey: ["source", source.id] });
      await client.invalidateQueries({ queryKey: ["jobs", source.id] });
      await client.invalidateQueries({ queryKey: ["activity"] });
    } catch (err) {
      setMessage(err instanceof ApiError ? err.message : "The request failed.");
    } finally {
      setBusy(null);
    }
  }

  const sync = (type: "full" | "incremental") =>
    act(type, () => apiFetch(`/api/sources/${source.id}/sync`, { method: "POST", body: { type } }));
  const verify = () => act("verify", () => apiFetch(`/api/sources/${source.id}/verify`, { method: "POST" }));
  const cancel = () => act("cancel", () => apiFetch(`/api/jobs/${job!.id}/cancel`, { method: "POST" }));
  const redeliver = () => {
    redeliverDialog.current?.close();
    return act("redeliver", () =>
      apiFetch(`/api/sources/${source.id}/sync`, { method: "POST", body: { type: "redeliver" } }),
    );
  };
  async function remove() {
    setBusy("delete");
    try {
      await apiFetch(`/api/sources/${source.id}`, { method: "DELETE" });
      dialog.current?.close();
      client.removeQueries({ queryKey: ["source", source.id] });
      await client.invalidateQueries({ queryKey: ["sources"] });
      router.push("/");
      router.refresh();
    } catch (err) {
      setMessage(err instanceof ApiError ? err.message : "The request failed.");
      setBusy(null);
      dialog.current?.close();
    }
  }

  const files = (source.fileCount ?? 0).toLocaleString("en");
  return (
    <div className="flex flex-col items-end gap-2">
      <div className="flex flex-wrap gap-2">
        <button
          type="button"
          className={secondaryButtonClass}
          disabled={busy !== null}
          onClick={() => void sync("incremental")}
        >
          Sync changes
        </button>
        <button
          type="button"
          className={secondaryButtonClass}
          disabled={busy !== null}
          onClick={() => void sync("full")}
        >
          Full sync
        </button>
        <button type="button" className={secondaryButtonClass} disabled={busy !== null} onClick={() => void verify()}>
          Verify now
        </button>
        <button
          type="button"
          className={secondaryButtonClass}
          disabled={busy !== null}
          onClick={() => redeliverDialog.current?.showModal()}
        >
          Re-deliver all files…
        </button>
        {active && (
          <button type="button" className={secondaryButtonClass} disabled={busy !== null} onClick={() => void cancel()}>
            Cancel sync
          </button>
        )}
        <button
          type="button"
          className={dangerButtonClass}
          disabled={busy !== null}
          onClick={() => dialog.current?.showModal()}
        >
          Delete…
        </button>
      </div>
      <p role="status" aria-live="polite" className="min-h-4 text-xs text-red-700 dark:text-red-400">
        {message}
      </p>
      <dialog
        ref={redeliverDialog}
        aria-labelledby="redeliver-title"
        className="m-auto max-w-md rounded-lg border border-zinc-200 bg-white p-6 text-zinc-900 shadow-xl backdrop:bg-black/40 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-100"
      >
        <h2 id="redeliver-title" className="text-lg font-semibold">
          Re-deliver all files of {source.name}?
        </h2>
        <div className="mt-3 space-y-2 text-sm text-zinc-700 dark:text-zinc-300">
          <p>
            Every one of its <strong>{files}</strong> indexed files is sent to the pipeline again, from the stored
            copies (the source is not read). Each carries a new idempotency key, so the pipeline processes it again.
          </p>
          <p>Use this after changing the embedding model or wiping the downstream store.</p>
        </div>
        <div className="mt-6 flex justify-end gap-2">
          <button
            type="button"
            className={secondaryButtonClass}
            onClick={() => redeliverDialog.current?.close()}
            autoFocus
          >
            Keep things as they are
          </button>
          <button
            type="button"
            className={secondaryButtonClass}
            disabled={busy === "redeliver"}
            onClick={() => void redeliver()}
          >
            {busy === "redeliver" ? "Starting…" : "Re-deliver all files"}
          </button>
        </div>
      </dialog>
      <dialog
        ref={dialog}
        aria-labelledby="delete-title"
        className="m-auto max-w-md rounded-lg border border-zinc-200 bg-white p-6 text-zinc-900 shadow-xl backdrop:bg-black/40 dark:border-zinc-800 dark:bg-zinc-900 dark:text-zinc-100"
      >
        <h2 id="delete-title" className="text-lg font-semibold">
          Delete {source.name}?
        </h2>
        <div className="mt-3 space-y-2 text-sm text-zinc-700 dark:text-zinc-300" data-testid="delete-summary">
          <p>This removes from Data Connector:</p>
          <ul className="list-disc pl-5">
            <li>the source and its settings,</li>
            <li>
              its <strong>{files}</strong> indexed files and their chunks (the pipeline is told each one is deleted),
            </li>
            <li>
              its job history and webhook events{source.webhookId ? ", and the webhook registered at the provider" : ""}
              .
            </li>
          </ul>
          <p>
            {source.type === "local"
              ? "The folder on disk is not touched."
              : "Nothing is changed at the provider's side beyond the webhook."}
          </p>
        </div>
        <div className="mt-6 flex justify-end gap-2">
          <button type="button" className={secondaryButtonClass} onClick={() => dialog.current?.close()} autoFocus>
            Keep it
          </button>
          <button
            type="button"
            className={`${dangerButtonClass} bg-red-600 text-white hover:bg-red-700 dark:bg-red-700 dark:text-white`}
            disabled={busy === "delete"}
            onClick={() => void remove()}
          >
            {busy === "delete" ? "Deleting…" : `Delete ${source.name}`}
          </button>
        </div>
      </dialog>
    </div>
  );
}
