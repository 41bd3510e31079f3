import CaeInitCore
import CaeInitWorker
import Foundation
import Synchronization

/// `run-once`'s output: the outcome lines, and the progress of each running dossier. On a terminal each running
/// dossier has one line, redrawn in place every second (the block is erased before an outcome line is printed); when
/// stdout is not a terminal (a log, a pipe), a plain line per dossier every `plainInterval` seconds instead.
final class ProgressLine: Sendable {
    private struct State {
        /// Running dossiers in the order they first reported, with their latest text.
        var lines: [(id: String, text: String)] = []
        /// Lines of the block currently drawn on the terminal.
        var drawn = 0
        /// When each dossier last got a plain line (epoch ms).
        var lastPlain: [String: Int64] = [:]
    }

    let terminal: Bool
    let plainInterval: Double
    private let state = Mutex(State())

    init(terminal: Bool = isatty(1) == 1, plainInterval: Double) {
        self.terminal = terminal
        self.plainInterval = plainInterval
    }

    static func text(_ progress: FilterProgress) -> String {
        "progress  \(progress.subscriptionId)/\(progress.key): \(progress.estimate.summary)"
    }

    func show(_ progress: FilterProgress) {
        let id = "\(progress.subscriptionId)/\(progress.key)"
        let text = Self.text(progress)
        state.withLock { state in
            if terminal {
                if let index = state.lines.firstIndex(where: { $0.id == id }) {
                    state.lines[index].text = text
                } else {
                    state.lines.append((id, text))
                }
                Self.write(Self.erase(state.drawn) + state.lines.map { "\u{1B}[2K\($0.text)\n" }.joined())
                state.drawn = state.lines.count
            } else {
                guard plainInterval > 0 else { return }
                let now = WallClock.epochMilliseconds()
                if let last = state.lastPlain[id], Double(now - last) < plainInterval * 1000 { return }
                state.lastPlain[id] = now
                Self.write(text + "\n")
            }
        }
    }

    /// Prints an outcome line; the dossier's progress line goes away.
    func finish(subscriptionId: String, key: String, line: String) {
        let id = "\(subscriptionId)/\(key)"
        state.withLock { state in
            state.lines.removeAll { $0.id == id }
            state.lastPlain[id] = nil
            if terminal {
                Self.write(Self.erase(state.drawn) + line + "\n" + state.lines.map { "\u{1B}[2K\($0.text)\n" }.joined())
                state.drawn = state.lines.count
            } else {
                Self.write(line + "\n")
            }
        }
    }

    /// Moves up over the `lines` drawn and clears them to the end of the screen.
    private static func erase(_ lines: Int) -> String {
        lines > 0 ? "\u{1B}[\(lines)F\u{1B}[J" : ""
    }

    /// Straight to the descriptor, unbuffered: the lines appear as they are drawn. (`run-once`'s closing line,
    /// printed through `print` after every outcome, comes after them.)
    private static func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}
