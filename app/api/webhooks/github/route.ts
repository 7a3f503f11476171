import { receiveGitWebhook } from "@/lib/webhooks/receive-git-webhook";

// POST /api/webhooks/github – a signed push from Github: verified, recorded, an incremental sync queued
export const POST = (request: Request) => receiveGitWebhook("github", request);
