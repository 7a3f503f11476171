import { NextResponse, type NextRequest } from "next/server";

// A request for a dashboard page without a session cookie goes to sign-in with a real 307,
// before any page streams (the pages' own check then answers inside a Suspense boundary,
// as a client-side redirect). Only the cookie's presence is looked at here: every page and
// route handler still verifies the session itself, so this is a shortcut, not the guard.
const OPEN_PAGES = ["/sign-in", "/setup"];
const SESSION_COOKIE = /(^|__Secure-)dc\.session-token$/;

export function proxy(request: NextRequest): NextResponse {
  const { pathname } = request.nextUrl;
  if (OPEN_PAGES.some((page) => pathname === page || pathname.startsWith(`${page}/`))) return NextResponse.next();
  if (request.cookies.getAll().some((cookie) => SESSION_COOKIE.test(cookie.name))) return NextResponse.next();
  const url = request.nextUrl.clone();
  url.pathname = "/sign-in";
  url.search = "";
  return NextResponse.redirect(url);
}

export const config = {
  // Pages only: not the API (it answers 401 itself), Next's assets or files with an extension.
  matcher: ["/((?!api/|_next/|.*\\.[a-zA-Z0-9]+$).*)"],
};
