//! Two-factor codes (TOTP, RFC 6238 over HOTP, RFC 4226): HMAC-SHA1, 6 digits, 30-s
//! steps, the step before and after accepted for clocks that drift (SPEC §14). Written
//! here: it is twenty lines on `hmac` and `sha1`, which are in the tree already.
//!
//! A code is accepted once: the caller keeps the newest step used and passes it back
//! ([`verify`] refuses that step and every earlier one), so a code seen over a shoulder
//! or on stream cannot be replayed within its window.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use sha2::{Digest, Sha256};

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Recovery codes made at enrollment.
pub const RECOVERY_CODES: usize = 10;
/// Bytes of a secret: 160 bits, RFC 4226's recommendation for HMAC-SHA1.
const SECRET_BYTES: usize = 20;

const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// RFC 4648 base32 without padding, as authenticator apps read secrets.
pub fn base32(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buffer = (buffer << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(BASE32[((buffer >> bits) & 31) as usize] as char);
        }
    }
    if bits > 0 {
        out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
    }
    out
}

/// The bytes of a base32 secret (case and spaces ignored); `None` when it is not one.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for c in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = BASE32
            .iter()
            .position(|&b| b == c.to_ascii_uppercase() as u8)?;
        buffer = (buffer << 5) | value as u32;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buffer >> bits) as u8);
        }
    }
    Some(out)
}

/// A new random secret, base32.
pub fn new_secret() -> String {
    let mut bytes = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut bytes);
    base32(&bytes)
}

/// HOTP: the code for `counter`, as a number below 10^DIGITS.
pub fn hotp(secret: &[u8], counter: u64) -> u32 {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(&counter.to_be_bytes());
    let hash = mac.finalize().into_bytes();
    let offset = (hash[19] & 0x0f) as usize;
    let value = u32::from_be_bytes([
        hash[offset] & 0x7f,
        hash[offset + 1],
        hash[offset + 2],
        hash[offset + 3],
    ]);
    value % 10u32.pow(DIGITS)
}

/// The step `unix_secs` falls in.
pub fn step_at(unix_secs: i64) -> i64 {
    unix_secs.div_euclid(STEP_SECS)
}

/// The step whose code `code` is, among the step at `unix_secs` and the one before and
/// after, and later than `last_used` (the newest step already accepted); `None` when it
/// is none of them. Every candidate is compared, in constant time, so the answer's
/// timing says nothing of which step matched or of how many digits did.
pub fn verify(secret_b32: &str, code: &str, unix_secs: i64, last_used: i64) -> Option<i64> {
    let secret = from_base32(secret_b32)?;
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let now = step_at(unix_secs);
    let mut matched = None;
    for step in [now - 1, now, now + 1] {
        let expected = format!(
            "{:0width$}",
            hotp(&secret, step as u64),
            width = DIGITS as usize
        );
        let same = constant_time_eq(expected.as_bytes(), code.as_bytes());
        if same && step > last_used && matched.is_none() {
            matched = Some(step);
        }
    }
    matched
}

/// Whether `a` and `b` are equal, looking at every byte whatever the first difference.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// The `otpauth://` address an authenticator app reads from the QR code.
pub fn otpauth_url(issuer: &str, account: &str, secret_b32: &str) -> String {
    let enc = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    format!(
        "otpauth://totp/{}:{}?secret={secret_b32}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        enc(issuer),
        enc(account),
        enc(issuer)
    )
}

/// `text` as a QR code drawn in SVG: one path of dark modules on a white square with
/// the standard quiet zone, scaled by the page. Made on the server so the admin page
/// loads no script from elsewhere.
pub fn qr_svg(text: &str) -> String {
    use qrcodegen::{QrCode, QrCodeEcc};
    let qr =
        QrCode::encode_text(text, QrCodeEcc::Medium).expect("an otpauth address fits in a QR code");
    let (size, border) = (qr.size(), 4);
    let full = size + 2 * border;
    let mut path = String::new();
    for y in 0..size {
        for x in 0..size {
            if qr.get_module(x, y) {
                path.push_str(&format!("M{},{}h1v1h-1z", x + border, y + border));
            }
        }
    }
    format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" \
         shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code for the authenticator app\">\
         <rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    )
}

/// New recovery codes, `xxxxx-xxxxx` of base32 (50 random bits each).
pub fn recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 7];
            rand::rng().fill_bytes(&mut bytes);
            let text = base32(&bytes)[..10].to_ascii_lowercase();
            format!("{}-{}", &text[..5], &text[5..])
        })
        .collect()
}

/// How a recovery code is stored: the SHA-256 of its normalized text (50 random bits
/// need no slow hash: they cannot be guessed offline in any useful time per account,
/// and each works once).
pub fn recovery_hash(code: &str) -> String {
    let normal: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    super::hex(&Sha256::digest(normal.as_bytes()))
}

/// Whether `code` looks like a recovery code rather than a six-digit one.
pub fn is_recovery_code(code: &str) -> bool {
    code.chars().filter(|c| c.is_ascii_alphanumeric()).count() == 10
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B, SHA-1, with its 20-byte ASCII key, read as 6 digits.
    #[test]
    fn the_rfc_6238_test_vectors_hold() {
        let secret = b"12345678901234567890";
        for (time, eight_digits) in [
            (59i64, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
        ] {
            assert_eq!(
                hotp(secret, step_at(time) as u64),
                eight_digits % 1_000_000,
                "{time}"
            );
        }
    }

    #[test]
    fn base32_round_trips_and_matches_rfc_4648() {
        assert_eq!(base32(b"foobar"), "MZXW6YTBOI");
        assert_eq!(from_base32("mzxw 6ytb oi").unwrap(), b"foobar");
        assert!(from_base32("not base32!").is_none());
        let secret = new_secret();
        assert_eq!(secret.len(), 32);
        assert_eq!(base32(&from_base32(&secret).unwrap()), secret);
    }

    #[test]
    fn a_code_is_accepted_one_step_either_side_once_and_not_two_steps_away() {
        let secret = base32(b"12345678901234567890");
        let code_at = |t: i64| format!("{:06}", hotp(b"12345678901234567890", step_at(t) as u64));
        let now = 1_800_000_000;
        let here = step_at(now);
        assert_eq!(verify(&secret, &code_at(now), now, 0), Some(here));
        assert_eq!(verify(&secret, &code_at(now - 30), now, 0), Some(here - 1));
        assert_eq!(verify(&secret, &code_at(now + 30), now, 0), Some(here + 1));
        assert_eq!(verify(&secret, &code_at(now - 60), now, 0), None);
        assert_eq!(verify(&secret, &code_at(now + 60), now, 0), None);
        // Used once: that step and every one before it are refused.
        assert_eq!(verify(&secret, &code_at(now), now, here), None);
        assert_eq!(verify(&secret, &code_at(now - 30), now, here), None);
        assert_eq!(
            verify(&secret, &code_at(now + 30), now, here),
            Some(here + 1)
        );
        for bad in ["", "12345", "1234567", "abcdef", "12 456"] {
            assert_eq!(verify(&secret, bad, now, 0), None, "{bad}");
        }
    }

    #[test]
    fn the_qr_code_and_address_carry_the_secret_for_an_app() {
        let url = otpauth_url("Goat Races", "alice@x", "ABC234");
        assert_eq!(
            url,
            "otpauth://totp/Goat%20Races:alice%40x?secret=ABC234&issuer=Goat%20Races&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&url);
        assert!(svg.starts_with("<svg ") && svg.ends_with("</svg>"));
        assert!(!svg.contains("<script"));
    }

    #[test]
    fn recovery_codes_are_distinct_and_hash_the_same_however_typed() {
        let codes = recovery_codes();
        assert_eq!(codes.len(), RECOVERY_CODES);
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), RECOVERY_CODES);
        let code = &codes[0];
        assert!(is_recovery_code(code));
        assert_eq!(
            recovery_hash(code),
            recovery_hash(&code.to_ascii_uppercase().replace('-', " "))
        );
        assert!(!is_recovery_code("123456"));
    }
}
