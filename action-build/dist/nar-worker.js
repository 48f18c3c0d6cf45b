import { createRequire as __WEBPACK_EXTERNAL_createRequire } from "module";
var __webpack_exports__ = {};

;// CONCATENATED MODULE: external "node:worker_threads"
const external_node_worker_threads_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:worker_threads");
;// CONCATENATED MODULE: external "node:crypto"
const external_node_crypto_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:crypto");
;// CONCATENATED MODULE: external "node:zlib"
const external_node_zlib_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:zlib");
;// CONCATENATED MODULE: external "node:fs"
const external_node_fs_namespaceObject = __WEBPACK_EXTERNAL_createRequire(import.meta.url)("node:fs");
;// CONCATENATED MODULE: ./src/cache/nar-format.ts
/**
 * The NAR (Nix ARchive) grammar, as `nix-store --dump` writes it (NixOS/nix
 * src/libutil/archive.cc). Both serializers build on it: the streaming one (nar.ts) and the
 * synchronous one for small paths (nar-sync.ts), which runs in the NAR worker threads.
 *
 * Paths are byte strings (Buffers) throughout: directory entries are sorted by their raw bytes,
 * as Nix's std::map<std::string> does, and names that are not valid UTF-8 survive.
 */
const PADDING = Buffer.alloc(8);
/** A NAR string: 64-bit little-endian length, the bytes, zero padding to 8 bytes. */
function nar_format_frame(bytes) {
    const out = Buffer.alloc(8 + bytes.length + ((8 - (bytes.length % 8)) % 8));
    out.writeBigUInt64LE(BigInt(bytes.length));
    bytes.copy(out, 8);
    return out;
}
// The fixed tokens, framed once: thousands of small paths would otherwise frame them again and again.
const token = (text) => nar_format_frame(Buffer.from(text, 'utf8'));
const T = {
    magic: token('nix-archive-1'),
    open: token('('),
    close: token(')'),
    regular: Buffer.concat([token('('), token('type'), token('regular')]),
    executable: Buffer.concat([token('executable'), token('')]),
    contents: token('contents'),
    directory: Buffer.concat([token('('), token('type'), token('directory')]),
    symlink: Buffer.concat([token('('), token('type'), token('symlink'), token('target')]),
    entryName: Buffer.concat([token('entry'), token('('), token('name')]),
    node: token('node'),
};
function kindOf(entry) {
    if (entry.isFile())
        return 'file';
    if (entry.isDirectory())
        return 'directory';
    if (entry.isSymbolicLink())
        return 'symlink';
    return 'other';
}
/** Entries whose type readdir tells are enough; the rest need an lstat (files for mode and size). */
const needsLstat = (entry) => !entry.isDirectory() && !entry.isSymbolicLink();
const byName = (a, b) => Buffer.compare(a.name, b.name);
const SLASH = Buffer.from('/');
function unsupportedType(path) {
    return new Error(`${path.toString()} has a file type a NAR cannot hold (only regular files, directories and symlinks)`);
}
/**
 * Collects a NAR's bytes as a list of parts. A serializer walks the tree and calls, per node:
 * `file` + the contents + `fileEnd`, or `directory` + (`entry`, the child, `entryEnd`)… + `end`,
 * or `symlink`. `take` hands over what is gathered so far (a streaming serializer yields it).
 */
class NarWriter {
    parts = [];
    /** Bytes gathered since the last `take` (all of the NAR when nothing was taken). */
    size = 0;
    begin() {
        this.raw(T.magic);
    }
    /** Opens a regular file node up to its contents, which come next (`size` bytes). */
    file(executable, size) {
        this.raw(T.regular);
        if (executable)
            this.raw(T.executable);
        this.raw(T.contents);
        const header = Buffer.allocUnsafe(8);
        header.writeBigUInt64LE(BigInt(size));
        this.raw(header);
    }
    /** Pads the `size` bytes of contents and closes the file node. */
    fileEnd(size) {
        const pad = (8 - (size % 8)) % 8;
        if (pad)
            this.raw(PADDING.subarray(0, pad));
        this.raw(T.close);
    }
    directory() {
        this.raw(T.directory);
    }
    entry(name) {
        this.raw(T.entryName);
        this.raw(nar_format_frame(name));
        this.raw(T.node);
    }
    entryEnd() {
        this.raw(T.close);
    }
    /** Closes a directory node. */
    end() {
        this.raw(T.close);
    }
    symlink(target) {
        this.raw(T.symlink);
        this.raw(nar_format_frame(target));
        this.raw(T.close);
    }
    /** Appends bytes as they are: file contents. */
    raw(bytes) {
        this.parts.push(bytes);
        this.size += bytes.length;
    }
    take() {
        if (this.size === 0)
            return undefined;
        const out = this.parts.length === 1 ? this.parts[0] : Buffer.concat(this.parts, this.size);
        this.parts = [];
        this.size = 0;
        return out;
    }
}

;// CONCATENATED MODULE: ./src/cache/nar-sync.ts


/**
 * The NAR of a small path, read with synchronous fs calls: a third of the cost of async ones
 * for thousands of tiny files. It blocks its thread, so it runs in the NAR worker threads
 * (nar-worker.ts), never on the main thread of a push.
 */
/** The NAR grew past the limit; `size` is how far it got (a lower bound of its real size). */
class NarTooBig extends Error {
    size;
    name = 'NarTooBig';
    constructor(size) {
        super(`the NAR is more than ${size} bytes`);
        this.size = size;
    }
}
/** The whole NAR of `path` in memory; throws NarTooBig as soon as it would pass `limit` bytes. */
function narSync(path, limit = Number.POSITIVE_INFINITY) {
    const root = typeof path === 'string' ? Buffer.from(path, 'utf8') : path;
    const out = new NarWriter();
    out.begin();
    dumpNode(root, (0,external_node_fs_namespaceObject.lstatSync)(root), out, limit);
    return out.take() ?? Buffer.alloc(0);
}
function dumpNode(path, st, out, limit) {
    switch (kindOf(st)) {
        case 'file': {
            const { size, mode } = st;
            out.file((mode & 0o100) !== 0, size);
            // Before reading: a file far bigger than recorded must not be read into memory.
            if (out.size + size > limit)
                throw new NarTooBig(out.size + size);
            if (size > 0)
                out.raw(readWhole(path, size));
            out.fileEnd(size);
            break;
        }
        case 'directory':
            out.directory();
            for (const entry of (0,external_node_fs_namespaceObject.readdirSync)(path, { encoding: 'buffer', withFileTypes: true }).sort(byName)) {
                out.entry(entry.name);
                const child = Buffer.concat([path, SLASH, entry.name]);
                dumpNode(child, needsLstat(entry) ? (0,external_node_fs_namespaceObject.lstatSync)(child) : entry, out, limit);
                out.entryEnd();
            }
            out.end();
            break;
        case 'symlink':
            out.symlink((0,external_node_fs_namespaceObject.readlinkSync)(path, { encoding: 'buffer' }));
            break;
        case 'other':
            throw unsupportedType(path);
    }
    if (out.size > limit)
        throw new NarTooBig(out.size);
}
function readWhole(path, size) {
    const data = Buffer.allocUnsafe(size);
    const fd = (0,external_node_fs_namespaceObject.openSync)(path, 'r');
    try {
        for (let done = 0; done < size;) {
            const n = (0,external_node_fs_namespaceObject.readSync)(fd, data, done, size - done, done);
            if (n === 0)
                throw new Error(`${path.toString()} shrank while it was being read`);
            done += n;
        }
    }
    finally {
        (0,external_node_fs_namespaceObject.closeSync)(fd);
    }
    return data;
}

;// CONCATENATED MODULE: ./src/cache/nar-job.ts



const sha256 = (data) => (0,external_node_crypto_namespaceObject.createHash)('sha256').update(data).digest();
function answerNarJob(job) {
    const { id } = job;
    let nar;
    try {
        nar = narSync(job.path, job.size);
    }
    catch (error) {
        if (error instanceof NarTooBig)
            return { id, ok: false, kind: 'size', actualSize: error.size, atLeast: true };
        const { message, code } = error;
        return { id, ok: false, kind: 'error', message: message ?? String(error), ...(code ? { code } : {}) };
    }
    if (nar.length !== job.size)
        return { id, ok: false, kind: 'size', actualSize: nar.length, atLeast: false };
    const narHash = sha256(nar);
    if (!narHash.equals(job.hash))
        return { id, ok: false, kind: 'hash', actualHash: narHash };
    const file = job.method === 'zstd' ? (0,external_node_zlib_namespaceObject.zstdCompressSync)(nar, { params: { [external_node_zlib_namespaceObject.constants.ZSTD_c_compressionLevel]: job.level }, pledgedSrcSize: nar.length }) : nar;
    return { id, ok: true, file, fileHash: sha256(file) };
}

;// CONCATENATED MODULE: ./src/cache/nar-worker.ts


/** The NAR worker thread's entry point: started by NarWorkerPool (nar-workers.ts). */
if (!external_node_worker_threads_namespaceObject.parentPort)
    throw new Error('nar-worker runs as a worker thread of a NarWorkerPool, not on its own');
const port = external_node_worker_threads_namespaceObject.parentPort;
port.on('message', (job) => port.postMessage(answerNarJob(job)));

