"use client";

import { useQuery } from "@tanstack/react-query";
import { apiFetch } from "@/lib/client/api";
import type { WebhookEventDto } from "@/lib/sources/schemas";
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
    <div className="table-frame">
      <table className="data-table min-w-[36rem]" aria-label="Webhook events">
        <thead>
          <tr>
            <th scope="col">Type</th>
            <th scope="col">Received</th>
            <th scope="col">Processed</th>
            <th scope="col">Delivery id</th>
          </tr>
        </thead>
        <tbody>
          {data.events.map((e) => (
            <tr key={e.id}>
              <td>{e.eventType}</td>
              <td className="whitespace-nowrap">
                <RelativeTime iso={e.receivedAt} />
              </td>
              <td className="whitespace-nowrap">
                {e.processed ? <RelativeTime iso={e.processedAt} fallback="yes" /> : "not yet"}
              </td>
              <td className="font-mono">{e.deliveryId ?? "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
