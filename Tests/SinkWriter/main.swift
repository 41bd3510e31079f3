// Test helper: writes documents to a Local Directory sink until it is killed. The orphan tests SIGKILL it in
// the middle of its writes, then check what the next sink on the directory leaves behind.
//
// Usage: cae-init-sink-writer DIRECTORY BODY_BYTES [named]
// Writes `d/journal/<writer>-<n mod 32>.json` (BODY_BYTES bytes of `x`) from 8 concurrent writers, forever: the
// names cycle, so the directory stays small however long it runs. With `named`, the sink writes every object
// through a named temporary file in its work area (as on a file system without unnamed files).
import CaeInitCore
import CaeInitSinks
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

func writeForever(directory: String, size: Int, unnamedFiles: Bool) async throws {
    let local = LocalDirectorySinkConfiguration(path: directory)
    let sink = LocalDirectorySink(configuration: SinkConfiguration(destination: .localDirectory(local)), local: local, unnamedFiles: unnamedFiles)
    let body = [UInt8](repeating: UInt8(ascii: "x"), count: size)
    try await sink.prepare()
    _ = write(1, "ready\n", 6)
    try await withThrowingTaskGroup(of: Void.self) { group in
        for writer in 0..<8 {
            group.addTask {
                var n = 0
                while true {
                    try await sink.put("d/journal/\(writer)-\(n % 32).json", body: body)
                    n += 1
                }
            }
        }
        try await group.waitForAll()
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 3 || (arguments.count == 4 && arguments[3] == "named"), let size = Int(arguments[2]) else {
    let usage = "usage: cae-init-sink-writer DIRECTORY BODY_BYTES [named]\n"
    _ = write(2, usage, usage.utf8.count)
    exit(2)
}
do {
    try await writeForever(directory: arguments[1], size: size, unnamedFiles: arguments.count == 3)
} catch {
    let text = "cae-init-sink-writer: \(error)\n"
    _ = write(2, text, text.utf8.count)
    exit(1)
}
