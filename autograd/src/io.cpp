// Files for every layer (xgrad/io.hpp).
#include "xgrad/io.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "xgrad/error.hpp"

namespace xg {

namespace {
/// The process's umask, read without changing it (umask(2) can only set it,
/// which would race with other threads creating files); 022 if unknown.
mode_t process_umask() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("Umask:", 0) == 0) return static_cast<mode_t>(std::stoul(line.substr(6), nullptr, 8));
  return 022;
}
}  // namespace

// Note [Atomic writes]
// A checkpoint must be either the old file or the new one, whatever happens:
// a kill, a full disk, a power loss, or another process saving beside us.
// So: resolve a symlink to its target (the link stays a link), refuse
// anything but a regular file or a new path (replacing /dev/full or a FIFO
// would be wrong), write a unique temporary in the target's directory
// (mkstemp, so two savers never share one), fsync it, rename it over the
// target, then fsync the directory so the rename itself survives power loss.
void write_file_atomic(const std::string& path, const std::string& bytes, const char* op) {
  XG_CHECK(!path.empty(), op, "the file name is empty");
  std::string target = path;
  mode_t mode = 0;  // the permissions the file ends up with
  for (int hops = 0;; ++hops) {
    struct stat st {};
    if (::lstat(target.c_str(), &st) != 0) {
      XG_CHECK(errno == ENOENT, op, "cannot write ", path, ": ", std::strerror(errno));
      mode = 0666 & ~process_umask();  // a new file: what open(2) would have given it
      break;
    }
    if (S_ISLNK(st.st_mode)) {
      XG_CHECK(hops < 40, op, "cannot write ", path, ": too many levels of symbolic links");
      char buf[4096];
      const ssize_t n = ::readlink(target.c_str(), buf, sizeof buf - 1);
      XG_CHECK(n >= 0, op, "cannot read the symbolic link ", target, ": ", std::strerror(errno));
      std::string link(buf, static_cast<std::size_t>(n));
      if (link.empty() || link[0] != '/') {
        const auto slash = target.rfind('/');
        if (slash != std::string::npos) link = target.substr(0, slash + 1) + link;
      }
      target = link;
      continue;
    }
    XG_CHECK(S_ISREG(st.st_mode), op, "refusing to replace ", target == path ? path : target + " (the target of " + path + ")",
             ": it is not a regular file (a device, FIFO, socket or directory)");
    mode = st.st_mode & 07777;  // a replaced file keeps its permissions
    break;
  }
  const auto slash = target.rfind('/');
  const std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : target.substr(0, slash));
  const std::string base = slash == std::string::npos ? target : target.substr(slash + 1);
  std::string tmp = (dir == "/" ? "/" : dir + "/") + "." + base + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  XG_CHECK(fd >= 0, op, "cannot create a temporary file in ", dir, " to write ", path, ": ", std::strerror(errno));
  auto fail_with = [&](const char* what, int err) {
    ::close(fd);
    ::unlink(tmp.c_str());
    detail::fail(op, what, " ", path, " failed: ", std::strerror(err));
  };
  std::size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_with("writing", errno);
    done += static_cast<std::size_t>(n);
  }
  if (::fchmod(fd, mode) != 0) fail_with("setting permissions of", errno);
  if (::fsync(fd) != 0) fail_with("flushing", errno);
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    detail::fail(op, "closing ", path, " failed: ", std::strerror(err));
  }
  if (::rename(tmp.c_str(), target.c_str()) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    detail::fail(op, "could not replace ", target, ": ", std::strerror(err));
  }
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
  if (dfd >= 0) {  // the rename is durable only once the directory is flushed
    const bool ok = ::fsync(dfd) == 0;
    const int err = errno;
    ::close(dfd);
    XG_CHECK(ok, op, "flushing the directory ", dir, " after writing ", path, " failed: ", std::strerror(err));
  }
}

std::string read_file(const std::string& path, const char* op) {
  std::ifstream in(path, std::ios::binary);
  XG_CHECK(in.good(), op, "cannot open ", path);
  std::ostringstream os;
  os << in.rdbuf();
  return os.str();
}

}  // namespace xg
