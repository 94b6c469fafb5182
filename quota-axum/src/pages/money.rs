//! Money as the pages show it, from integer minor units: `1 234,50 €` in French, `€1,234.50`
//! in English (the currency's own exponent; its code when it has no common symbol).

use quota_core::Money;

fn symbol(code: &str) -> Option<&'static str> {
    match code {
        "EUR" => Some("€"),
        "USD" => Some("$"),
        "GBP" => Some("£"),
        "JPY" => Some("¥"),
        "CHF" => Some("CHF"),
        _ => None,
    }
}

/// Groups the digits of `n` by three with `sep`.
fn grouped(n: u64, sep: char) -> String {
    let digits = n.to_string();
    let len = digits.len();
    let mut out = String::with_capacity(len.saturating_add(len / 3));
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && len.saturating_sub(i) % 3 == 0 {
            out.push(sep);
        }
        out.push(c);
    }
    out
}

/// Formats an amount for `lang` (`en`, else French).
pub(crate) fn format_money(m: Money, lang: &str) -> String {
    let en = lang == "en";
    let exp = m.currency.exponent();
    let abs = m.amount_minor.unsigned_abs();
    let scale = 10u64.saturating_pow(exp);
    let whole = abs.checked_div(scale).unwrap_or(abs);
    let frac = abs.checked_rem(scale).unwrap_or(0);
    let (group, point) = if en { (',', '.') } else { (' ', ',') };
    let mut number = grouped(whole, group);
    if exp > 0 {
        number.push(point);
        number.push_str(&format!("{frac:0width$}", width = exp as usize));
    }
    let sign = if m.amount_minor < 0 { "-" } else { "" };
    let code = m.currency.as_str();
    match (symbol(code), en) {
        // One-character symbols lead in English (`€49.00`); codes always trail.
        (Some(s), true) if s.chars().count() == 1 => format!("{sign}{s}{number}"),
        (Some(s), _) => format!("{sign}{number} {s}"),
        (None, _) => format!("{sign}{number} {code}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quota_core::Currency;

    #[test]
    fn formats_euros_the_french_and_the_english_way() {
        let m = Money::new(4900, Currency::EUR);
        assert_eq!(format_money(m, "fr"), "49,00 €");
        assert_eq!(format_money(m, "en"), "€49.00");
        let big = Money::new(123_456_789, Currency::EUR);
        assert_eq!(format_money(big, "fr"), "1 234 567,89 €");
        assert_eq!(format_money(big, "en"), "€1,234,567.89");
        assert_eq!(format_money(Money::new(-5, Currency::EUR), "en"), "-€0.05");
        assert_eq!(format_money(Money::new(0, Currency::EUR), "fr"), "0,00 €");
    }

    #[test]
    fn other_currencies_keep_their_exponent_and_code() {
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(format_money(Money::new(1500, jpy), "en"), "¥1,500");
        let sek = Currency::parse("SEK").unwrap();
        assert_eq!(format_money(Money::new(1050, sek), "fr"), "10,50 SEK");
        assert_eq!(format_money(Money::new(1050, sek), "en"), "10.50 SEK");
    }
}
