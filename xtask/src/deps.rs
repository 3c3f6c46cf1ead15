//! Installing the system packages the project needs, only when missing.

use std::process::Command;

/// A system package, and the command whose presence shows it is installed.
#[derive(Clone, Copy)]
pub struct Dep {
    /// Debian package name.
    pub package: &'static str,
    /// A program the package provides.
    pub provides: &'static str,
    /// Why the project needs it.
    pub why: &'static str,
}

/// What building the core needs.
pub const BUILD: &[Dep] = &[
    Dep {
        package: "nasm",
        provides: "nasm",
        why: "libjpeg-turbo's SIMD code (photo processing)",
    },
    Dep {
        package: "cmake",
        provides: "cmake",
        why: "building libjpeg-turbo",
    },
];

/// Everything the test suites need.
pub const ALL: &[Dep] = &[
    BUILD[0],
    BUILD[1],
    Dep {
        package: "libimage-exiftool-perl",
        provides: "exiftool",
        why: "an independent EXIF reader checks that photos leave without metadata",
    },
];

/// Installs the packages of `deps` whose program is missing.
pub fn ensure(deps: &[Dep]) -> Result<(), String> {
    let missing: Vec<&Dep> = deps.iter().filter(|d| !on_path(d.provides)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    for d in &missing {
        eprintln!("xtask: installing {} ({})", d.package, d.why);
    }
    let sudo = if is_root() { None } else { Some("sudo") };
    apt(sudo, &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(missing.iter().map(|d| d.package));
    apt(sudo, &args)?;
    match missing.iter().find(|d| !on_path(d.provides)) {
        Some(d) => Err(format!(
            "{} was installed but {} is still not on PATH",
            d.package, d.provides
        )),
        None => Ok(()),
    }
}

fn apt(sudo: Option<&str>, args: &[&str]) -> Result<(), String> {
    let mut cmd = match sudo {
        Some(s) => {
            let mut c = Command::new(s);
            c.arg("apt-get");
            c
        }
        None => Command::new("apt-get"),
    };
    let status = cmd
        .args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("could not run apt-get: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("apt-get {} failed ({status})", args.join(" ")))
    }
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).any(|dir| dir.join(program).is_file()))
        .unwrap_or(false)
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}
