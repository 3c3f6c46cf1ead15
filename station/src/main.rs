//! `postcso-station`: the station server that carriers' phones sync to.
//!
//! Filled in by the station server issue.

fn main() {
    println!("postcso-station: not built yet");
}
