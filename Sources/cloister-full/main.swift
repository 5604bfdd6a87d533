import CloisterCommands

#if canImport(Glibc)
import Glibc
#endif

// Reached through the `cloister` front's execv, which makes the kernel name this process
// "cloister-full". Take the user's name back: `ps`, and the scanner (which recognises a
// cloister sandbox by its launcher's name), see "cloister" as before the split.
// (/proc/self/comm is the main thread's; nothing else has started yet.)
let comm = open("/proc/self/comm", O_WRONLY | O_CLOEXEC)
if comm >= 0 {
    _ = write(comm, "cloister", 8)
    close(comm)
}

// Before the first await, while this is the only thread: capabilities are per thread, and only
// threads started after the drop inherit it.
CloisterCommand.prepareProcess()
await CloisterCommand.runMain()
