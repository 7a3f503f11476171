import { withWebhook } from "@/lib/api/with-webhook";
import { receiveGitWebhook } from "@/lib/webhooks/receive-git-webhook";

// POST /api/webhooks/github – a signed push from Github: verified, recorded, an incremental sync queued
export const POST = withWebhook("github", (request) => receiveGitWebhook("github", request));
