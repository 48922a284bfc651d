//! Instructions executed, and the atomic read-modify-write ones among them (`lock`-prefixed,
//! and `xchg` with memory), from a callgrind profile with per-instruction counts. callgrind
//! counts an atomic instruction as one, but each costs tens of cycles: a reference count cloned
//! and dropped, a lock taken. Two layers with the same instruction count can differ in time by
//! these alone.

use std::collections::HashSet;
use std::io::BufRead as _;
use std::path::Path;
use std::process::Command;

/// The addresses of the atomic instructions in `binary` (from `objdump -d`).
pub fn addresses(binary: &Path) -> Result<HashSet<u64>, String> {
    let output = Command::new("objdump")
        .args(["-d", "--no-show-raw-insn"])
        .arg(binary)
        .output()
        .map_err(|e| format!("objdump (`apt-get install -y binutils`): {e}"))?;
    if !output.status.success() {
        return Err(format!("objdump failed on {}", binary.display()));
    }
    let text = String::from_utf8_lossy(&output.stdout);
    let found: HashSet<u64> = text.lines().filter_map(atomic_at).collect();
    if found.is_empty() {
        return Err(format!("no atomic instructions in {}", binary.display()));
    }
    Ok(found)
}

/// The address of a disassembled line (`  4cc240:\tlock decq (%rax)`) if it is atomic.
fn atomic_at(line: &str) -> Option<u64> {
    let (address, instruction) = line.trim_start().split_once(":\t")?;
    let instruction = instruction.trim_start();
    let atomic = instruction.starts_with("lock ")
        || (instruction.starts_with("xchg") && instruction.contains('('));
    atomic.then(|| u64::from_str_radix(address, 16).ok())?
}

/// What a profile made with `--dump-instr=yes` executed: all its instructions (callgrind's
/// program total), and the atomic ones (at `atomic` addresses) among them.
///
/// The format (callgrind's "position" lines): each cost line starts with one field per
/// position named in the `positions:` header (the instruction's address first, written in
/// full as `0x…`, relative as `+n` / `-n`, or `*` for the same), then the costs, `Ir` first.
/// The line after `calls=` is a call's inclusive cost, not an instruction's own: skipped.
pub fn count(profile: &Path, atomic: &HashSet<u64>) -> Result<Executed, String> {
    let file = std::fs::File::open(profile).map_err(|e| format!("{}: {e}", profile.display()))?;
    let mut positions = 1;
    let mut address: u64 = 0;
    let mut after_call = false;
    let mut executed = Executed::default();
    for line in std::io::BufReader::new(file).lines() {
        let line = line.map_err(|e| format!("{}: {e}", profile.display()))?;
        if let Some(names) = line.strip_prefix("positions:") {
            positions = names.split_whitespace().count();
            continue;
        }
        if line.starts_with("calls=") {
            after_call = true;
            continue;
        }
        let Some(first) = line.bytes().next() else {
            continue;
        };
        if !(first.is_ascii_digit() || matches!(first, b'+' | b'-' | b'*')) {
            continue;
        }
        let mut fields = line.split_whitespace();
        let Some(position) = fields.next() else {
            continue;
        };
        address = moved(address, position)
            .ok_or_else(|| format!("{}: bad position {position:?}", profile.display()))?;
        let cost = fields
            .nth(positions - 1)
            .and_then(|c| c.parse::<u64>().ok());
        if std::mem::take(&mut after_call) {
            continue;
        }
        let cost = cost.unwrap_or(0);
        executed.instructions += cost;
        if atomic.contains(&address) {
            executed.atomic += cost;
        }
    }
    Ok(executed)
}

/// Instructions a profile executed.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Executed {
    /// All of them: callgrind's program total.
    pub instructions: u64,
    /// The atomic ones among them.
    pub atomic: u64,
}

/// A position field applied to the previous address.
fn moved(previous: u64, field: &str) -> Option<u64> {
    let number = |text: &str| match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => text.parse::<u64>().ok(),
    };
    match field.as_bytes().first()? {
        b'*' => Some(previous),
        b'+' => previous.checked_add(number(&field[1..])?),
        b'-' => previous.checked_sub(number(&field[1..])?),
        _ => number(field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atomic_lines_are_found_by_their_prefix() {
        assert_eq!(atomic_at("  4cc240:\tlock decq (%rax)"), Some(0x4cc240));
        assert_eq!(atomic_at("  4cc241:\txchg   %rax,(%rdx)"), Some(0x4cc241));
        assert_eq!(atomic_at("  4cc242:\txchg   %ax,%ax"), None);
        assert_eq!(atomic_at("  4cc243:\tmov    (%rax),%rdx"), None);
        assert_eq!(atomic_at("0000000000401000 <_init>:"), None);
    }

    #[test]
    fn positions_follow_callgrinds_compression() {
        assert_eq!(moved(0, "0x10"), Some(16));
        assert_eq!(moved(16, "+2"), Some(18));
        assert_eq!(moved(18, "-3"), Some(15));
        assert_eq!(moved(15, "*"), Some(15));
    }

    #[test]
    fn a_profile_counts_own_costs_only() {
        let dir = std::env::temp_dir().join(format!("locked-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("callgrind.out");
        std::fs::write(
            &file,
            "positions: instr line\nevents: Ir\nfn=(1) f\n0x10 1 5\n+2 1 7\ncalls=3 0x40 9\n+2 2 100\n+2 2 1\n",
        )
        .expect("write");
        // 0x12 ran 7 times; 0x14 is a call line (its 100 is the callee's); 0x16 ran once.
        let atomic: HashSet<u64> = [0x12, 0x14, 0x16].into_iter().collect();
        let executed = count(&file, &atomic).expect("counted");
        assert_eq!(executed.atomic, 8);
        assert_eq!(executed.instructions, 5 + 7 + 1);
        std::fs::remove_dir_all(&dir).expect("cleanup");
    }
}
