//! Installing the system packages the project needs, only when missing, the
//! pinned npm packages of the interop tests, and the pinned Go tools of the
//! fault tests.

use std::path::{Path, PathBuf};
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
    Dep {
        package: "nodejs",
        provides: "node",
        why: "runs tus-js-client, the independent tus client of the upload interop test",
    },
    Dep {
        package: "npm",
        provides: "npm",
        why: "installs the pinned tus-js-client (interop test) and @tus/server (loadgen smoke test)",
    },
];

/// npm projects whose pinned packages the tests need: (directory under the
/// workspace root, a file whose presence shows they are installed).
/// The same project may be listed once per package that shows it is complete.
pub const NPM: &[(&str, &str)] = &[
    ("tests/interop", "node_modules/tus-js-client/package.json"),
    // @tus/server 2.x (Node >= 20.19) for the load generator's tus comparison.
    ("tests/interop", "node_modules/@tus/server/package.json"),
    // axe-core, run on every page by the review console's browser tests.
    ("tests/console", "node_modules/axe-core/axe.min.js"),
];

/// Runs `npm ci` (exactly the lock file's versions) in each project of `npm`
/// whose packages are missing.
pub fn ensure_npm(root: &Path, npm: &[(&str, &str)]) -> Result<(), String> {
    for (dir, marker) in npm {
        let dir = root.join(dir);
        if dir.join(marker).is_file() {
            continue;
        }
        eprintln!("xtask: npm ci in {}", dir.display());
        let status = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund"])
            .current_dir(&dir)
            .status()
            .map_err(|e| format!("could not run npm: {e}"))?;
        if !status.success() {
            return Err(format!("npm ci in {} failed ({status})", dir.display()));
        }
    }
    Ok(())
}

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

/// Installs Debian packages with apt-get (through sudo unless root).
pub fn apt_install(packages: &[&str]) -> Result<(), String> {
    let sudo = if is_root() { None } else { Some("sudo") };
    apt(sudo, &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend_from_slice(packages);
    apt(sudo, &args)
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

/// A Go program the tests run, built from the Go module proxy with `go install`
/// at a pinned version into [`tools_dir`].
#[derive(Clone, Copy)]
pub struct GoTool {
    /// The file name it is installed under.
    pub name: &'static str,
    /// The package path of its `main`.
    pub package: &'static str,
    /// The pinned release.
    pub version: &'static str,
    /// Why the project needs it.
    pub why: &'static str,
}

/// Go programs the test suites need.
pub const GO_TOOLS: &[GoTool] = &[GoTool {
    name: "toxiproxy-server",
    package: "github.com/Shopify/toxiproxy/v2/cmd/server",
    // Keep in step with tests/src/faults/toxiproxy.rs (TOXIPROXY_VERSION).
    version: "v2.12.0",
    why: "the TCP fault proxy between the phone core and the station in the fault tests",
}];

/// Go itself, installed from Debian when a tool must be built and `go` is missing.
const GO: Dep = Dep {
    package: "golang-go",
    provides: "go",
    why: "building the Go tools the tests run",
};

/// Where Go tools are installed: `$POSTCSO_TOOLS_DIR`, else
/// `~/.cache/postcso/bin`, outside the cargo target dir so `cargo clean` keeps them.
/// The test harness looks in the same place.
pub fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("POSTCSO_TOOLS_DIR") {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
    home.join(".cache/postcso/bin")
}

/// Builds the tools of `tools` that are missing, or present at another version
/// (each keeps its version in `<name>.version` beside it).
pub fn ensure_go_tools(tools: &[GoTool]) -> Result<(), String> {
    let dir = tools_dir();
    let missing: Vec<&GoTool> = tools
        .iter()
        .filter(|t| {
            let stamp = std::fs::read_to_string(dir.join(format!("{}.version", t.name)));
            !dir.join(t.name).is_file() || stamp.map(|v| v.trim() != t.version).unwrap_or(true)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    ensure(&[GO])?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    for tool in missing {
        eprintln!(
            "xtask: building {} {} with go install ({})",
            tool.name, tool.version, tool.why
        );
        // A fresh GOBIN per tool: `go install` names the binary after its package
        // directory (`server`), which is renamed into place afterwards.
        let gobin = dir.join(format!(".build-{}", tool.name));
        let _ = std::fs::remove_dir_all(&gobin);
        std::fs::create_dir_all(&gobin)
            .map_err(|e| format!("creating {}: {e}", gobin.display()))?;
        let status = Command::new("go")
            .args(["install", &format!("{}@{}", tool.package, tool.version)])
            .env("GOBIN", &gobin)
            .env("GOFLAGS", "-mod=mod")
            // Outside any Go module, so no go.mod around interferes.
            .current_dir(&gobin)
            .status()
            .map_err(|e| format!("could not run go: {e}"))?;
        if !status.success() {
            return Err(format!(
                "go install {}@{} failed ({status})",
                tool.package, tool.version
            ));
        }
        let built = tool.package.rsplit('/').next().unwrap_or(tool.name);
        let target = dir.join(tool.name);
        std::fs::rename(gobin.join(built), &target)
            .map_err(|e| format!("installing {}: {e}", target.display()))?;
        let _ = std::fs::remove_dir_all(&gobin);
        std::fs::write(dir.join(format!("{}.version", tool.name)), tool.version)
            .map_err(|e| format!("stamping {}: {e}", tool.name))?;
        eprintln!("xtask: installed {}", target.display());
    }
    Ok(())
}

/// Installs Debian packages that provide no program to look for (e.g.
/// `python3-venv`); the caller decides they are missing.
pub fn install_packages(packages: &[&str]) -> Result<(), String> {
    let sudo = if is_root() { None } else { Some("sudo") };
    apt(sudo, &["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(packages);
    apt(sudo, &args)
}
