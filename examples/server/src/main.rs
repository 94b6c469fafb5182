//! The `quota` QA server and CLI (work in progress).

fn main() {
    println!("quota: work in progress");
}
