//! Template values (`fuzz_templates_render_arbitrary_messages_escaped`, feature
//! `minijinja`): arbitrary messages render in an auto-escaped template exactly HTML-escaped,
//! in push order, and `of_kind` / `kinds()` agree with the messages.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tower_flash::__fuzz::render;
use tower_flash::Messages;

/// minijinja's HTML escaping, written out: what every text and kind must come out as.
fn escaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#x27;"),
            '/' => out.push_str("&#x2f;"),
            c => out.push(c),
        }
    }
    out
}

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let wanted = tower_flash_fuzz::kind(u)?;
    let count = u.int_in_range(0..=5usize)?;
    let messages = (0..count)
        .map(|_| tower_flash_fuzz::message(u))
        .collect::<Result<Vec<_>>>()?;
    let messages = Messages::from(messages);
    let mut expected: String = messages
        .iter()
        .map(|m| {
            format!(
                "<p class=\"{}\">{}</p>",
                escaped(m.kind().as_str()),
                escaped(m.text())
            )
        })
        .collect();
    expected.push('|');
    for m in messages.iter().filter(|m| m.kind() == &wanted) {
        expected += &escaped(m.text());
        expected.push(';');
    }
    expected.push('|');
    for kind in messages.grouped().kinds() {
        expected += &escaped(kind.as_str());
        expected.push(',');
    }
    let html = render(messages, wanted.as_str()).expect("renders");
    assert_eq!(html, expected);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
