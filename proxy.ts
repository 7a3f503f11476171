import { NextResponse, type NextRequest } from "next/server";
import { unknownApiRequest } from "@/lib/api/route-table";

// A request for a dashboard page without a session cookie goes to sign-in with a real 307,
// before any page streams (the pages' own check then answers inside a Suspense boundary,
// as a client-side redirect). Only the cookie's presence is looked at here: every page and
// route handler still verifies the session itself, so this is a shortcut, not the guard.
const OPEN_PAGES = ["/sign-in", "/setup"];
const SESSION_COOKIE = /(^|__Secure-)dc\.session-token$/;

/** Served over https (APP_URL, read at run time), responses tell browsers to use https only. */
function withTransportSecurity(response: Response): Response {
  if ((process.env.APP_URL ?? "").startsWith("https:"))
    response.headers.set("Strict-Transport-Security", "max-age=31536000");
  return response;
}

export function proxy(request: NextRequest): Response {
  return withTransportSecurity(route(request));
}

function route(request: NextRequest): Response {
  const { pathname } = request.nextUrl;
  // The API answers problem+json for paths and methods no route handles (not Next's HTML 404).
  if (pathname.startsWith("/api/")) return unknownApiRequest(request.method, pathname) ?? NextResponse.next();
  if (OPEN_PAGES.some((page) => pathname === page || pathname.startsWith(`${page}/`))) return NextResponse.next();
  if (request.cookies.getAll().some((cookie) => SESSION_COOKIE.test(cookie.name))) return NextResponse.next();
  const url = request.nextUrl.clone();
  url.pathname = "/sign-in";
  url.search = "";
  return NextResponse.redirect(url);
}

export const config = {
  // Pages (not Next's assets or files with an extension), and the API for unknown routes and methods.
  matcher: ["/((?!api/|_next/|.*\\.[a-zA-Z0-9]+$).*)", "/api/:path*"],
};
