import Link from "next/link";

export default function NotFound() {
  return (
    <div className="py-12 text-center">
      <h1 className="text-2xl font-semibold">Not found</h1>
      <p className="mt-2 text-sm text-zinc-600 dark:text-zinc-400">It does not exist, or it was deleted.</p>
      <Link href="/" className="mt-4 inline-block underline">
        Back to the sources
      </Link>
    </div>
  );
}
