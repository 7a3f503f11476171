"use client";

import { useActionState } from "react";
import { setupAction, type SetupState } from "@/app/auth-actions";
import { buttonClass, errorAlertClass, inputClass } from "./ui";

export function SetupForm({ token }: { token: string | null }) {
  const [state, action, pending] = useActionState<SetupState, FormData>(setupAction, {});
  return (
    <form action={action} className="space-y-4">
      {token && <input type="hidden" name="token" value={token} />}
      {state.error && (
        <p role="alert" className={errorAlertClass}>
          {state.error}
        </p>
      )}
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Email</span>
        <input name="email" type="email" autoComplete="username" required className={inputClass} />
      </label>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Password (at least 12 characters)</span>
        <input
          name="password"
          type="password"
          autoComplete="new-password"
          minLength={12}
          required
          className={inputClass}
        />
      </label>
      <label className="block text-sm">
        <span className="mb-1 block font-medium">Password again</span>
        <input
          name="confirm"
          type="password"
          autoComplete="new-password"
          minLength={12}
          required
          className={inputClass}
        />
      </label>
      <button type="submit" disabled={pending} className={`${buttonClass} w-full`}>
        {pending ? "Creating…" : "Create admin and sign in"}
      </button>
    </form>
  );
}
