"use client";

import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/client/api";
import type { WebhookEventDto } from "@/lib/webhooks/list-webhook-events";
import { RelativeTime } from "./relative-time";

/** The provider's latest pushes for this source, and whether each was processed. */
export function WebhookEvents({
  sourceId,
  initial,
  sourceType,
}: {
  sourceId: string;
  initial: WebhookEventDto[];
  sourceType: string;
}) {
  const { data } = useQuery({
    queryKey: ["webhook-events", sourceId],
    queryFn: ({ signal }) =>
      apiFetch<{ events: WebhookEventDto[] }>(`/api/sources/${sourceId}/webhook-events?limit=20`, { signal }),
    initialData: { events: initial },
    refetchInterval: 15_000,
  });
  if (data.events.length === 0) {
    return (
      <p className="text-sm text-zinc-500">
        {sourceType === "local"
          ? "Local folders have no webhooks: changes on disk are picked up by a file watcher."
          : "No webhook events received yet. Without a public APP_URL the source is polled on a schedule instead."}
      </p>
    );
  }
  return (
    <div className="overflow-x-auto rounded-lg border border-zinc-200 dark:border-zinc-800">
      <table className="w-full min-w-[36rem] text-left text-sm" aria-label="Webhook events">
        <thead className="bg-zinc-50 text-xs text-zinc-600 dark:bg-zinc-900 dark:text-zinc-400">
          <tr>
            <th scope="col" className="px-3 py-2 font-medium">
              Type
            </th>
            <th scope="col" className="px-3 py-2 font-medium">
              Received
            </th>
            <th scope="col" className="px-3 py-2 font-medium">
              Processed
            </th>
            <th scope="col" className="px-3 py-2 font-medium">
              Delivery id
            </th>
          </tr>
        </thead>
        <tbody className="divide-y divide-zinc-100 dark:divide-zinc-900">
          {data.events.map((e) => (
            <tr key={e.id}>
              <td className="px-3 py-1.5 text-xs">{e.eventType}</td>
              <td className="whitespace-nowrap px-3 py-1.5 text-xs">
                <RelativeTime iso={e.receivedAt} />
              </td>
              <td className="whitespace-nowrap px-3 py-1.5 text-xs">
                {e.processed ? <RelativeTime iso={e.processedAt} fallback="yes" /> : "not yet"}
              </td>
              <td className="px-3 py-1.5 font-mono text-xs">{e.deliveryId ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
