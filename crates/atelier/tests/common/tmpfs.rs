//! A small tmpfs mounted over a folder for one test, to run out of space on
//! purpose; unmounted (lazily, so a busy mount cannot stay behind) on drop.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mounted tmpfs and a file that fills it.
pub struct Tmpfs {
    dir: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `size` (e.g. `"4M"`) over `dir`, keeping what
    /// `dir` held: its contents are copied onto the new mount.
    pub fn mount_over(dir: &Path, size: &str) -> Tmpfs {
        let saved = dir.with_extension("before-tmpfs");
        std::fs::rename(dir, &saved).unwrap();
        std::fs::create_dir(dir).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size},mode=0711")])
            .arg("tmpfs")
            .arg(dir)
            .status()
            .unwrap();
        assert!(
            status.success(),
            "mount -t tmpfs failed (the tests run as root)"
        );
        let mount = Tmpfs {
            dir: dir.to_owned(),
        };
        let copied = Command::new("cp")
            .arg("-a")
            .arg(saved.join("."))
            .arg(dir)
            .status()
            .unwrap();
        assert!(
            copied.success(),
            "copying {} onto the tmpfs failed",
            saved.display()
        );
        mount
    }

    fn filler(&self) -> PathBuf {
        self.dir.join("filler")
    }

    /// Writes a file until the file system is full; returns the bytes written.
    pub fn fill(&self) -> u64 {
        let mut file = std::fs::File::create(self.filler()).unwrap();
        let chunk = vec![0x55u8; 4096];
        let mut written = 0u64;
        while file.write_all(&chunk).is_ok() {
            written += chunk.len() as u64;
        }
        // Whatever a partial write managed to put in is part of the filler.
        let _ = file.flush();
        written
    }

    /// Removes the filler.
    pub fn free(&self) {
        std::fs::remove_file(self.filler()).unwrap();
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.dir).status();
    }
}
