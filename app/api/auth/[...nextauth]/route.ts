import { handlers } from "@/lib/auth/auth";

// /api/auth/* – next-auth: sign-in, sign-out, session and the sign-in providers' OAuth callbacks
export const { GET, POST } = handlers;
