import { receiveGitWebhook } from "@/lib/webhooks/receive-git-webhook";

// POST /api/webhooks/bitbucket – a signed push from Bitbucket: verified, recorded, an incremental sync queued
export const POST = (request: Request) => receiveGitWebhook("bitbucket", request);
