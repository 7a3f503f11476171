// Maps, not objects: a name such as `constructor` or `__proto__` must find nothing.
const BY_EXTENSION = new Map<string, string>(
  Object.entries({
    ts: "typescript",
    tsx: "typescript",
    mts: "typescript",
    cts: "typescript",
    js: "javascript",
    jsx: "javascript",
    mjs: "javascript",
    cjs: "javascript",
    py: "python",
    pyi: "python",
    rb: "ruby",
    go: "go",
    rs: "rust",
    java: "java",
    kt: "kotlin",
    kts: "kotlin",
    scala: "scala",
    swift: "swift",
    c: "c",
    h: "c",
    cc: "cpp",
    cpp: "cpp",
    cxx: "cpp",
    hpp: "cpp",
    hh: "cpp",
    cs: "csharp",
    fs: "fsharp",
    php: "php",
    pl: "perl",
    pm: "perl",
    lua: "lua",
    r: "r",
    dart: "dart",
    ex: "elixir",
    exs: "elixir",
    erl: "erlang",
    hs: "haskell",
    clj: "clojure",
    ml: "ocaml",
    jl: "julia",
    sh: "shell",
    bash: "shell",
    zsh: "shell",
    fish: "shell",
    ps1: "powershell",
    sql: "sql",
    graphql: "graphql",
    gql: "graphql",
    proto: "protobuf",
    html: "html",
    htm: "html",
    css: "css",
    scss: "scss",
    sass: "scss",
    less: "less",
    vue: "vue",
    svelte: "svelte",
    json: "json",
    jsonc: "json",
    yaml: "yaml",
    yml: "yaml",
    toml: "toml",
    xml: "xml",
    ini: "ini",
    md: "markdown",
    mdx: "markdown",
    rst: "restructuredtext",
    txt: "text",
    csv: "csv",
    tex: "latex",
    tf: "terraform",
    hcl: "hcl",
    gradle: "groovy",
    groovy: "groovy",
    zig: "zig",
    nim: "nim",
  }),
);

const BY_NAME = new Map<string, string>(
  Object.entries({
    dockerfile: "dockerfile",
    makefile: "makefile",
    gnumakefile: "makefile",
    rakefile: "ruby",
    gemfile: "ruby",
    "cmakelists.txt": "cmake",
    jenkinsfile: "groovy",
    ".bashrc": "shell",
    ".zshrc": "shell",
  }),
);

/** The language of a file from its name alone; null when the name says nothing. */
export function detectLanguage(filePath: string): string | null {
  const base = filePath.slice(filePath.lastIndexOf("/") + 1).toLowerCase();
  const named = BY_NAME.get(base);
  if (named) return named;
  if (base.startsWith("dockerfile.")) return "dockerfile";
  const dot = base.lastIndexOf(".");
  if (dot <= 0) return null;
  return BY_EXTENSION.get(base.slice(dot + 1)) ?? null;
}

/** Every language name detectLanguage can answer, for the languages filter. */
export const KNOWN_LANGUAGES: string[] = [...new Set([...BY_EXTENSION.values(), ...BY_NAME.values()])].sort();
