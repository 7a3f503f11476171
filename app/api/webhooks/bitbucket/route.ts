import { withWebhook } from "@/lib/api/with-webhook";
import { receiveGitWebhook } from "@/lib/webhooks/receive-git-webhook";

// POST /api/webhooks/bitbucket – a signed push from Bitbucket: verified, recorded, an incremental sync queued
export const POST = withWebhook("bitbucket", (request) => receiveGitWebhook("bitbucket", request));
