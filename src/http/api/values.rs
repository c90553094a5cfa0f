//! The checked values of `domain::ids` (and the month of `domain::RaceId`) as request
//! parameters and fields (an email is checked in its handler instead, so that its
//! refusal can name the field): each is parsed once, where it arrives, with the pattern the
//! published schema states; a handler receives the checked value, never the text.

use std::borrow::Cow;

use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{
    ParseError, ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type,
};
use serde_json::Value;

use crate::domain::RaceId;
use crate::domain::ids::{Invalid, RaceKey, Uid, Username};

/// How a checked value looks in the schema and reads from text.
pub trait Checked: Sized + Send + Sync + std::fmt::Display {
    fn schema() -> MetaSchema;
    fn check(text: &str) -> Result<Self, Invalid>;
}

fn string_schema(pattern: &'static str, min: usize, max: usize) -> MetaSchema {
    MetaSchema {
        pattern: Some(pattern.to_string()),
        min_length: Some(min),
        max_length: Some(max),
        ..MetaSchema::new("string")
    }
}

/// The monthly race's id, `YYYYMM` from 2000 on.
pub const MONTH_PATTERN: &str = "^[2-9][0-9]{3}(0[1-9]|1[0-2])$";

macro_rules! checked {
    ($($ty:ty: $pattern:expr, $min:expr, $max:expr, $parse:expr;)*) => {$(
        impl Checked for $ty {
            fn schema() -> MetaSchema {
                string_schema($pattern, $min, $max)
            }
            fn check(text: &str) -> Result<Self, Invalid> {
                $parse(text)
            }
        }
    )*};
}

checked! {
    Uid: Uid::PATTERN, 1, 64, Uid::parse;
    Username: Username::PATTERN, 3, 32, Username::parse;
    RaceKey: RaceKey::PATTERN, 1, 40, RaceKey::parse;
    RaceId: MONTH_PATTERN, 6, 6, |text| {
        RaceId::parse(text).ok_or(Invalid("raceId must be a month as YYYYMM"))
    };
}

macro_rules! openapi_value {
    ($($ty:ty),*) => {$(
        impl Type for $ty {
            const IS_REQUIRED: bool = true;
            type RawValueType = Self;
            type RawElementValueType = Self;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                MetaSchemaRef::Inline(Box::new(<$ty as Checked>::schema()))
            }

            fn as_raw_value(&self) -> Option<&Self> {
                Some(self)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a Self> + 'a> {
                Box::new(std::iter::once(self))
            }
        }

        impl ParseFromParameter for $ty {
            fn parse_from_parameter(value: &str) -> ParseResult<Self> {
                <$ty as Checked>::check(value).map_err(|e| ParseError::custom(e.0))
            }
        }

        impl ParseFromJSON for $ty {
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::String(text)) => {
                        <$ty as Checked>::check(&text).map_err(|e| ParseError::custom(e.0))
                    }
                    other => Err(ParseError::expected_type(other.unwrap_or_default())),
                }
            }
        }

        impl ToJSON for $ty {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.to_string()))
            }
        }
    )*};
}

openapi_value!(Uid, Username, RaceKey, RaceId);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn schema_accepts<T: Checked>(text: &str) -> bool {
        let schema = T::schema();
        let len = text.chars().count();
        let pattern = schema
            .pattern
            .is_none_or(|p| regex::Regex::new(&p).unwrap().is_match(text));
        pattern
            && schema.min_length.is_none_or(|m| len >= m)
            && schema.max_length.is_none_or(|m| len <= m)
    }

    fn agree<T: Checked>(text: &str) -> Result<(), TestCaseError> {
        prop_assert_eq!(
            T::check(text).is_ok(),
            schema_accepts::<T>(text),
            "{:?}",
            text
        );
        Ok(())
    }

    proptest! {
        /// What the published schema lets through is what the handler accepts, and the
        /// other way round: a client that follows the schema is never refused, and no
        /// check is left to the handler.
        #[test]
        fn the_schema_and_the_check_agree(text in "[A-Za-z0-9_.:/ <@-]{0,70}") {
            agree::<Uid>(&text)?;
            agree::<Username>(&text)?;
            agree::<RaceKey>(&text)?;
            agree::<RaceId>(&text)?;
        }

        #[test]
        fn months_agree(text in "[0-9]{5,7}") {
            agree::<RaceId>(&text)?;
        }
    }
}
