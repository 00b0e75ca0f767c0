//! The loco recipe: `cargo run -p recipe-loco -- start` in recipes/heavy/loco serves it on
//! http://127.0.0.1:5150 (config/development.yaml).

#[tokio::main]
async fn main() -> loco_rs::Result<()> {
    loco_rs::cli::main::<recipe_loco::App>().await
}
