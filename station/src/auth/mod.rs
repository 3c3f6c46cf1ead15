//! Identity: roles, secrets (tokens, codes, passwords) and the request extractors
//! that turn a bearer token or session cookie into a caller.

mod extract;
mod password;
pub mod policy;
mod role;
mod tokens;

pub use extract::{Caller, DeviceCaller, SESSION_COOKIE, StaffCaller};
pub use password::{MIN_PASSWORD_LEN, PasswordError, hash_password, verify_password};
pub use role::Role;
pub use tokens::{
    DEVICE_TOKEN_PREFIX, SESSION_TOKEN_PREFIX, hash_secret, new_enrolment_code, new_token,
    normalise_enrolment_code,
};
