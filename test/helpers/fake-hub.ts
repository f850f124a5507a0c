/**
 * A local HTTP server that answers like the Hugging Face hub for the requests model downloads
 * make (model info, paths-info, resolve with and without ranges), serving fixture folders.
 */
import { createHash } from "node:crypto";
import { readFileSync, readdirSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { join, relative } from "node:path";

export interface FakeRepo {
  dir: string;
  commit: string;
  /**
   * Makes the repository gated, as the hub answers for one: its info is public, but its files
   * need `Authorization: Bearer <token>` (401 GatedRepo without it or with another token).
   */
  token?: string;
}

export interface FakeHub {
  url: string;
  /** Every request, as "METHOD path" (query string dropped). */
  requests: string[];
  /** Bytes served in full-file GETs. */
  fileGets: () => string[];
  close: () => Promise<void>;
}

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const visit = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) visit(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  visit(dir);
  return out.sort();
}

function fileInfo(repo: FakeRepo, path: string) {
  const bytes = readFileSync(join(repo.dir, path));
  const gitOid = createHash("sha1").update(`blob ${bytes.length}\0`).update(bytes).digest("hex");
  const isLfs = path.endsWith(".onnx") || path.endsWith(".onnx_data") || path.endsWith(".model");
  const lfs = isLfs ? { oid: createHash("sha256").update(bytes).digest("hex"), size: bytes.length } : undefined;
  return { bytes, oid: gitOid, lfs, etag: lfs ? lfs.oid : gitOid };
}

export async function startFakeHub(repos: Record<string, FakeRepo>): Promise<FakeHub> {
  const requests: string[] = [];
  const handler = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const path = decodeURIComponent(url.pathname);
    requests.push(`${req.method} ${path}`);
    const notFound = (code: string) => {
      res.writeHead(404, { "X-Error-Code": code, "Content-Type": "application/json" });
      res.end(JSON.stringify({ error: code }));
    };
    let m = /^\/api\/models\/([^/]+\/[^/]+)\/revision\/([^/]+)$/.exec(path);
    if (m && req.method === "GET") {
      const repo = repos[m[1]];
      if (!repo) return notFound("RepoNotFound");
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(
        JSON.stringify({
          _id: "0".repeat(24),
          id: m[1],
          sha: repo.commit,
          private: false,
          gated: repo.token === undefined ? false : "manual",
          downloads: 0,
          likes: 0,
          lastModified: "2026-01-01T00:00:00.000Z",
          siblings: listFiles(repo.dir).map((rfilename) => ({ rfilename })),
        }),
      );
    }
    m = /^\/api\/models\/([^/]+\/[^/]+)\/paths-info\/([^/]+)$/.exec(path);
    if (m && req.method === "POST") {
      const repo = repos[m[1]];
      if (!repo) return notFound("RepoNotFound");
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as { paths: string[] };
      const known = new Set(listFiles(repo.dir));
      const infos = body.paths
        .filter((p) => known.has(p))
        .map((p) => {
          const info = fileInfo(repo, p);
          return { type: "file", path: p, oid: info.oid, size: info.bytes.length, lfs: info.lfs, lastCommit: { id: repo.commit } };
        });
      res.writeHead(200, { "Content-Type": "application/json" });
      return res.end(JSON.stringify(infos));
    }
    m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    if (m && (req.method === "GET" || req.method === "HEAD")) {
      const repo = repos[m[1]];
      if (!repo) return notFound("RepoNotFound");
      if (repo.token !== undefined && req.headers.authorization !== `Bearer ${repo.token}`) {
        const message = `Access to model ${m[1]} is restricted. You must have access to it and be authenticated to access it. Please log in.`;
        res.writeHead(401, { "X-Error-Code": "GatedRepo", "X-Error-Message": message, "Content-Type": "application/json" });
        return res.end(JSON.stringify({ error: message }));
      }
      if (!listFiles(repo.dir).includes(m[3])) return notFound("EntryNotFound");
      const info = fileInfo(repo, m[3]);
      const headers = { ETag: `"${info.etag}"`, "X-Repo-Commit": repo.commit, "Accept-Ranges": "bytes" };
      const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? "");
      if (range) {
        const start = Number(range[1]);
        const end = Math.min(Number(range[2]), info.bytes.length - 1);
        res.writeHead(206, { ...headers, "Content-Range": `bytes ${start}-${end}/${info.bytes.length}`, "Content-Length": end - start + 1 });
        return res.end(req.method === "HEAD" ? undefined : info.bytes.subarray(start, end + 1));
      }
      res.writeHead(200, { ...headers, "Content-Length": info.bytes.length });
      return res.end(req.method === "HEAD" ? undefined : info.bytes);
    }
    res.writeHead(404);
    res.end();
  };
  const server: Server = createServer((req, res) => {
    handler(req, res).catch((error) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    fileGets: () => requests.filter((r) => r.startsWith("GET") && r.includes("/resolve/")),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
