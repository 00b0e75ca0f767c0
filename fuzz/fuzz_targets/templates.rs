//! Template values (`fuzz_templates_render_arbitrary_messages_escaped`, feature
//! `minijinja`): arbitrary messages render in an auto-escaped template exactly HTML-escaped,
//! in push order, and `of_kind` / `kinds()` agree with the messages.
#![no_main]

use arbitrary::{Result, Unstructured};
use libfuzzer_sys::fuzz_target;
use tower_flash::__fuzz::{expected_render, render};
use tower_flash::Messages;

fn run(u: &mut Unstructured<'_>) -> Result<()> {
    let wanted = tower_flash_fuzz::kind(u)?;
    let count = u.int_in_range(0..=5usize)?;
    let messages = (0..count)
        .map(|_| tower_flash_fuzz::message(u))
        .collect::<Result<Vec<_>>>()?;
    let messages = Messages::from(messages);
    let expected = expected_render(&messages, &wanted);
    let html = render(messages, wanted.as_str()).expect("renders");
    assert_eq!(html, expected);
    Ok(())
}

fuzz_target!(|data: &[u8]| {
    let _ = run(&mut Unstructured::new(data));
});
