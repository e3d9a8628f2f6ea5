"""What SRC holds: directories, files cut into chunks with a SHA-256 each, symlinks.

Runs on the source (a node or the controller); part of the agent program. A file's checksum
is the SHA-256 over its chunks' SHA-256s: receivers verify every chunk as it arrives, so the
whole file is verified without reading it twice, and a partial file resumes chunk by chunk.
"""

import bisect
import hashlib
import json
import os
import stat
from concurrent.futures import ThreadPoolExecutor

# <local-imports>
from sparkctl.sync.remote.wire import SyncError

# </local-imports>

STATE_DIR = ".sparkctl-sync"  # inside DEST: resume state and partial files; never synced
CHUNK_SIZE = 4 << 20
DIGEST_SIZE = 32


def bad_characters(text):
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def chunk_count(size, chunk_size):
    return (size + chunk_size - 1) // chunk_size


def hash_chunks(path, size, chunk_size, pool):
    """Raw SHA-256 of each chunk of a file, read with pread in parallel threads."""
    count = chunk_count(size, chunk_size)
    if count == 0:
        return b""
    fd = os.open(path, os.O_RDONLY)
    try:
        def one(index):
            data = os.pread(fd, chunk_size, index * chunk_size)
            if len(data) != min(chunk_size, size - index * chunk_size):
                raise SyncError("input", f"{path} changed while it was read (short read)")
            return hashlib.sha256(data).digest()
        return b"".join(pool.map(one, range(count)))
    finally:
        os.close(fd)


def file_digest(chunk_digests):
    return hashlib.sha256(chunk_digests).hexdigest()


def _walk(root):
    """(relpath, lstat) of everything under root: sorted, each directory's entries before
    its subdirectories' (so parents come before children)."""
    stack = [""]
    while stack:
        rel = stack.pop()
        here = os.path.join(root, rel) if rel else root
        try:
            entries = sorted(os.scandir(here), key=lambda e: e.name)
        except OSError as exc:
            raise SyncError("input", f"cannot list {here}: {exc.strerror}") from None
        subdirs = []
        for entry in entries:
            if not rel and entry.name == STATE_DIR:
                continue
            path = entry.name if not rel else rel + "/" + entry.name
            st = entry.stat(follow_symlinks=False)
            yield path, st
            if stat.S_ISDIR(st.st_mode):
                subdirs.append(path)
        stack.extend(reversed(subdirs))


def _inside(root, resolved):
    real_root = os.path.realpath(root).rstrip("/")
    return resolved == real_root or resolved.startswith(real_root + "/")


def build_manifest(root, chunk_size=CHUNK_SIZE, cache_path=None, threads=None):
    """Describe SRC (a directory, or one file synced into DEST).

    Symlinks that stay inside SRC are kept as links (a Hugging Face cache's snapshots point
    into its blobs); links that leave it are followed, so the copy is self-contained.
    Digests of files whose size, mtime and inode match the cache are reused, so a second
    sync of 400 GB does not read 400 GB first.
    """
    if bad_characters(root):
        raise SyncError("input", f"SRC {root!r} contains control characters")
    root = os.path.abspath(root)
    try:
        top = os.stat(root)
    except FileNotFoundError:
        raise SyncError("input", f"SRC {root} does not exist") from None
    except OSError as exc:
        raise SyncError("input", f"cannot read SRC {root}: {exc.strerror}") from None
    if stat.S_ISREG(top.st_mode):
        base = os.path.dirname(root)
        entries = iter([(os.path.basename(root), top)])
    elif stat.S_ISDIR(top.st_mode):
        base = root
        entries = _walk(root)
    else:
        raise SyncError("input", f"SRC {root} is neither a file nor a directory")
    cache = _load_cache(cache_path, root, chunk_size)
    fresh = {}
    dirs, files, links = [], [], []
    first = 0
    pool = ThreadPoolExecutor(max_workers=threads or min(8, os.cpu_count() or 2))
    try:
        for rel, st in entries:
            full = os.path.join(base, rel)
            if bad_characters(rel):
                raise SyncError("input", f"{full!r}: names with control characters are not "
                                "synced; rename it")
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(full)
                resolved = os.path.realpath(full)
                if not os.path.exists(resolved):
                    raise SyncError("input", f"{full} is a dangling symlink (-> {target})")
                if _inside(base, resolved) and not os.path.isabs(target):
                    links.append([rel, target])
                    continue
                st = os.stat(resolved)
                if stat.S_ISDIR(st.st_mode):
                    raise SyncError("input", f"{full} links to directory {resolved} outside "
                                    "SRC; sync that directory itself")
                full = resolved
            if stat.S_ISDIR(st.st_mode):
                dirs.append([rel, stat.S_IMODE(st.st_mode)])
                continue
            if not stat.S_ISREG(st.st_mode):
                raise SyncError("input", f"{full} is not a regular file, directory or "
                                "symlink; sync copies only those")
            key = [st.st_size, st.st_mtime_ns, st.st_ino]
            known = cache.get(full)
            if known and known[0] == key:
                digests = bytes.fromhex(known[1])
            else:
                digests = hash_chunks(full, st.st_size, chunk_size, pool)
            fresh[full] = [key, digests.hex()]
            files.append({"path": rel, "size": st.st_size, "mode": stat.S_IMODE(st.st_mode),
                          "mtime_ns": st.st_mtime_ns, "first": first,
                          "digests": digests.hex(), "source": full})
            first += chunk_count(st.st_size, chunk_size)
    finally:
        pool.shutdown()
    _save_cache(cache_path, root, chunk_size, fresh)
    return {"version": 1, "chunk_size": chunk_size, "root": root,
            "single_file": stat.S_ISREG(top.st_mode), "dirs": dirs, "files": files,
            "links": links, "total_bytes": sum(f["size"] for f in files), "chunks": first}


def cache_file(cache_dir, root):
    """Where the digest cache of SRC lives (one file per SRC)."""
    if not cache_dir:
        return None
    name = hashlib.sha256(os.path.abspath(root).encode()).hexdigest()[:24] + ".json"
    return os.path.join(os.path.expanduser(cache_dir), name)


def _load_cache(path, root, chunk_size):
    if not path:
        return {}
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
        if data.get("root") == os.path.abspath(root) and data.get("chunk_size") == chunk_size:
            return data.get("files", {})
    except (OSError, ValueError, AttributeError):
        pass
    return {}


def _save_cache(path, root, chunk_size, files):
    if not path:
        return
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump({"root": os.path.abspath(root), "chunk_size": chunk_size,
                       "files": files}, handle)
        os.replace(tmp, path)
    except OSError:
        pass  # the cache only saves time


class Layout:
    """Chunk ids -> (file, offset, length), and each file's expected digests."""

    def __init__(self, manifest):
        self.chunk_size = int(manifest["chunk_size"])
        self.files = manifest["files"]
        self.firsts = [f["first"] for f in self.files]
        self.total = int(manifest["chunks"])
        self.expected = [bytes.fromhex(f["digests"]) for f in self.files]

    def locate(self, chunk):
        # Empty files share their first id with the next file; bisect_right lands after them.
        index = bisect.bisect_right(self.firsts, chunk) - 1
        entry = self.files[index]
        offset = (chunk - entry["first"]) * self.chunk_size
        return index, offset, min(self.chunk_size, entry["size"] - offset)

    def digest(self, file_index, k):
        return self.expected[file_index][k * DIGEST_SIZE:(k + 1) * DIGEST_SIZE]

    def count(self, file_index):
        return chunk_count(self.files[file_index]["size"], self.chunk_size)


def ranges_of(flags):
    """[start, end) runs of the ids whose flag is set."""
    out, start = [], None
    for i, flag in enumerate(flags):
        if flag and start is None:
            start = i
        elif not flag and start is not None:
            out.append([start, i])
            start = None
    if start is not None:
        out.append([start, len(flags)])
    return out


def ids_of(ranges):
    for start, end in ranges:
        yield from range(start, end)
