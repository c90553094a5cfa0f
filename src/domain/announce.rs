//! What the community is told about a race (SPEC §11), as plain text. Pure: the
//! notifier decides when, and where to send it. Player names are cleaned again here
//! (`text::clean_name`): names stored before SPEC §17 may still hold a line break or a
//! direction override, and one must not write a line of its own into a message.

use super::money::Cents;
use super::ranking::Standing;
use super::text::clean_name;

fn usd(c: Cents) -> String {
    let (sign, c) = if c.0 < 0 { ("-", -c.0) } else { ("", c.0) };
    let dollars = (c / 100).to_string();
    let mut grouped = String::new();
    for (i, ch) in dollars.chars().enumerate() {
        if i > 0 && (dollars.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    format!("{sign}${grouped}.{:02}", c % 100)
}

fn shares(distribution: &[f64]) -> String {
    distribution
        .iter()
        .map(|s| format!("{}%", (s * 1000.0).round() / 10.0))
        .collect::<Vec<_>>()
        .join(" / ")
}

fn places(standings: &[Standing], with_prize: bool) -> String {
    standings
        .iter()
        .map(|s| {
            if with_prize {
                format!(
                    "{}. {} — {} (wagered {})",
                    s.position,
                    clean_name(&s.name),
                    usd(s.prize),
                    usd(s.wagered)
                )
            } else {
                format!(
                    "{}. {} — {}",
                    s.position,
                    clean_name(&s.name),
                    usd(s.wagered)
                )
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn race_started(name: &str, pool: Cents, distribution: &[f64], ends: &str) -> String {
    format!(
        "🏁 {name} has started! Prize pool {} split {}. It ends {ends}.",
        usd(pool),
        shares(distribution)
    )
}

pub fn new_leader(name: &str, leader: &Standing, second: Option<&Standing>) -> String {
    match second {
        Some(s) => format!(
            "👑 New leader in {name}: {} with {} wagered, {} ahead of {}.",
            clean_name(&leader.name),
            usd(leader.wagered),
            usd(Cents(leader.wagered.0 - s.wagered.0)),
            clean_name(&s.name)
        ),
        None => format!(
            "👑 New leader in {name}: {} with {} wagered.",
            clean_name(&leader.name),
            usd(leader.wagered)
        ),
    }
}

pub fn final_day(name: &str, top: &[Standing]) -> String {
    format!(
        "⏳ 24 hours left in {name}! The top places now:\n{}",
        places(top, false)
    )
}

pub fn results(name: &str, winners: &[Standing], total: Cents, players: usize) -> String {
    if winners.is_empty() {
        return format!("🏆 {name} is over. Nobody placed this time.");
    }
    // Discord refuses messages over 2,000 characters (and a refusal pauses the
    // destination): ten places at most, then how many more were paid.
    const LISTED: usize = 10;
    let more = match winners.len().saturating_sub(LISTED) {
        0 => String::new(),
        n => format!("\n… and {n} more paid places."),
    };
    let listed = &winners[..winners.len().min(LISTED)];
    format!(
        "🏆 {name} is over! The winners:\n{}{more}\n{} wagered by {players} players.",
        places(listed, true),
        usd(total)
    )
}

/// Discord reads Markdown: a player named `**x**` or `@everyone` must show as written.
/// (Mentions are also switched off in the message itself.)
pub fn discord_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\*_~`|>#[]()@<".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(pos: u32, name: &str, wagered: i64, prize: i64) -> Standing {
        Standing {
            uid: name.into(),
            name: name.into(),
            position: pos,
            wagered: Cents(wagered),
            prize: Cents(prize),
        }
    }

    #[test]
    fn a_name_cannot_write_a_line_or_reverse_one_in_a_message() {
        let forged = s(1, "Alice\n2. Bob — $9,999.00", 10000, 5000);
        let reversed = s(2, "Eve\u{202E}", 9000, 3000);
        let text = results("May", &[forged, reversed], Cents(19000), 2);
        assert_eq!(text.lines().count(), 4, "{text}");
        assert!(
            text.contains("1. Alice2. Bob — $9,999.00 — $50.00 (wagered $100.00)"),
            "{text}"
        );
        assert!(!text.contains('\u{202E}'), "{text}");
        let leader = new_leader("May", &s(1, "Mallory\u{2028}fake", 1, 0), None);
        assert!(!leader.contains('\u{2028}'), "{leader}");
    }

    #[test]
    fn a_hundred_paid_places_with_long_names_fit_in_one_discord_message() {
        let many: Vec<Standing> = (1..=100)
            .map(|i| s(i, &"W".repeat(32), 1_000_000_000, 100_000_000))
            .collect();
        let text = results(&"R".repeat(80), &many, Cents(i64::MAX / 4), 100_000);
        let long = discord_escape(&text);
        assert!(long.chars().count() < 2000, "{}", long.chars().count());
        assert!(long.contains("and 90 more paid places"));
    }

    #[test]
    fn messages_say_the_race_the_people_and_the_money_to_the_cent() {
        assert_eq!(usd(Cents(123_456_789)), "$1,234,567.89");
        assert_eq!(usd(Cents(5)), "$0.05");
        assert_eq!(
            race_started(
                "November 2026",
                Cents(50_000),
                &[0.5, 0.3, 0.2],
                "1 Dec 00:00 UTC"
            ),
            "🏁 November 2026 has started! Prize pool $500.00 split 50% / 30% / 20%. It ends 1 Dec 00:00 UTC."
        );
        let alice = s(1, "Alice", 500_000, 25_000);
        let bob = s(2, "bob", 300_000, 15_000);
        assert_eq!(
            new_leader("Sprint", &alice, Some(&bob)),
            "👑 New leader in Sprint: Alice with $5,000.00 wagered, $2,000.00 ahead of bob."
        );
        assert_eq!(
            results("Sprint", &[alice, bob], Cents(800_000), 2),
            "🏆 Sprint is over! The winners:\n1. Alice — $250.00 (wagered $5,000.00)\n\
             2. bob — $150.00 (wagered $3,000.00)\n$8,000.00 wagered by 2 players."
        );
        assert_eq!(
            discord_escape("**x** @everyone"),
            "\\*\\*x\\*\\* \\@everyone"
        );
    }
}
