import { randomBytes, randomUUID } from "node:crypto";
import { and, asc, eq, inArray, lt, ne } from "drizzle-orm";
import { getDb } from "@/lib/db/client";
import { driveChannels, sources, type DriveChannel } from "@/lib/db/schema";
import { decryptSecret, encryptSecret } from "@/lib/oauth/encryption";
import { webhookCallbackUrl } from "@/lib/webhooks/callback-url";
import { ConnectorAuthError } from "@/lib/connectors/errors";
import { GdriveConnector, gdriveConnector } from "@/lib/connectors/gdrive";
import { resolveProviderToken } from "@/lib/oauth/provider-token";
import { errorField, syncLogger } from "@/lib/log";

/** How long a new channel lives (Drive allows changes channels up to a week). */
export function channelTtlSeconds(): number {
  return Math.min(604_800, Math.max(300, Number(process.env.DRIVE_CHANNEL_TTL_SECONDS ?? 86_400)));
}

/** Channels expiring within this window are replaced by the scheduled renewal. */
export const RENEW_BEFORE_MS = 2 * 3600_000;

const tokenBinding = (channelId: string) => `drive-channel:${channelId}`;

export function openChannelToken(channel: Pick<DriveChannel, "channelId" | "sealedToken">): string {
  return decryptSecret(channel.sealedToken, tokenBinding(channel.channelId));
}

/**
 * Opens a changes.watch channel for the connector's source. The row (with its sealed token) is
 * written before the watch call, because Drive's `sync` message may arrive before it returns.
 */
export async function openDriveChannel(connector: GdriveConnector, callbackUrl: string): Promise<DriveChannel> {
  const sourceId = connector.context.sourceId;
  if (!sourceId) throw new Error("A Drive channel needs a stored source.");
  const db = getDb();
  const channelId = randomUUID();
  const token = randomBytes(32).toString("base64url");
  const [row] = await db
    .insert(driveChannels)
    .values({ sourceId, channelId, sealedToken: encryptSecret(token, tokenBinding(channelId)) })
    .returning();
  try {
    const { resourceId, expiresAt } = await connector.watch({
      id: channelId,
      token,
      address: callbackUrl,
      ttlSeconds: channelTtlSeconds(),
    });
    const [opened] = await db
      .update(driveChannels)
      .set({ resourceId, expiresAt })
      .where(eq(driveChannels.id, row!.id))
      .returning();
    return opened!;
  } catch (err) {
    await db.delete(driveChannels).where(eq(driveChannels.id, row!.id));
    throw err;
  }
}

async function stopOne(connector: GdriveConnector, channel: DriveChannel): Promise<void> {
  if (channel.resourceId) await connector.stopChannel(channel.channelId, channel.resourceId);
  await getDb().delete(driveChannels).where(eq(driveChannels.id, channel.id));
}

/**
 * Stops every channel of the connector's source (the source is being removed). Best effort at
 * Drive: a channel that cannot be stopped expires by itself, and without its row its
 * notifications are refused.
 */
export async function stopDriveChannels(connector: GdriveConnector): Promise<void> {
  const sourceId = connector.context.sourceId;
  if (!sourceId) return;
  const channels = await getDb().select().from(driveChannels).where(eq(driveChannels.sourceId, sourceId));
  for (const channel of channels) {
    try {
      await stopOne(connector, channel);
    } catch (err) {
      syncLogger({ sourceId, provider: "gdrive" }).warn(
        { channelId: channel.channelId, error: errorField(err) },
        "could not stop a Drive channel",
      );
      await getDb().delete(driveChannels).where(eq(driveChannels.id, channel.id));
    }
  }
}

export type RenewalReport = { opened: number; stopped: number; failed: number };

/**
 * The scheduled renewal: every Drive source whose channels all expire within RENEW_BEFORE_MS
 * (or that has none) gets a new channel first; then its old channels are stopped. Sources
 * waiting for reauthorization are left alone.
 */
export async function renewDriveChannels(now = new Date()): Promise<RenewalReport> {
  const report: RenewalReport = { opened: 0, stopped: 0, failed: 0 };
  const callbackUrl = webhookCallbackUrl("gdrive");
  if (!callbackUrl) return report;
  const db = getDb();
  const horizon = new Date(now.getTime() + RENEW_BEFORE_MS);
  const candidates = await db
    .select()
    .from(sources)
    .where(and(eq(sources.type, "gdrive"), ne(sources.status, "needs_reauth")))
    .orderBy(asc(sources.createdAt));
  if (candidates.length === 0) return report;
  const channels = await db
    .select()
    .from(driveChannels)
    .where(
      inArray(
        driveChannels.sourceId,
        candidates.map((s) => s.id),
      ),
    );
  for (const source of candidates) {
    const own = channels.filter((c) => c.sourceId === source.id);
    if (own.some((c) => c.expiresAt && c.expiresAt > horizon)) continue;
    let connector: GdriveConnector;
    try {
      connector = gdriveConnector.create({
        sourceId: source.id,
        config: source.config,
        token: await resolveProviderToken(source),
      }) as GdriveConnector;
      const opened = await openDriveChannel(connector, callbackUrl);
      report.opened++;
      await db
        .update(sources)
        .set({ webhookId: opened.channelId, updatedAt: new Date() })
        .where(eq(sources.id, source.id));
    } catch (err) {
      report.failed++;
      if (err instanceof ConnectorAuthError) {
        await db
          .update(sources)
          .set({ status: "needs_reauth", updatedAt: new Date() })
          .where(eq(sources.id, source.id));
      }
      syncLogger({ sourceId: source.id, provider: "gdrive" }).error(
        { error: errorField(err) },
        "could not open a Drive channel",
      );
      continue;
    }
    for (const old of own) {
      try {
        await stopOne(connector, old);
        report.stopped++;
      } catch (err) {
        syncLogger({ sourceId: source.id, provider: "gdrive" }).warn(
          { channelId: old.channelId, error: errorField(err) },
          "could not stop a Drive channel: it will expire by itself",
        );
      }
    }
  }
  // Rows of channels that expired unrenewed are of no more use.
  await db.delete(driveChannels).where(lt(driveChannels.expiresAt, now));
  return report;
}
