//! The Stripe provider builds its HTTPS client without installing a process-wide rustls
//! crypto provider: an application that installs its own afterwards keeps working. Its own
//! test binary: the process default is global.

use quota_payments::{StripeConfig, StripeProvider};

#[test]
fn building_the_stripe_provider_installs_no_crypto_provider() {
    assert!(rustls::crypto::CryptoProvider::get_default().is_none());
    let provider = StripeProvider::new(StripeConfig::new("sk_test_x"));
    assert!(provider.is_ok(), "{provider:?}");
    assert!(
        rustls::crypto::CryptoProvider::get_default().is_none(),
        "the provider installed a process-wide crypto provider"
    );
    assert!(
        rustls::crypto::ring::default_provider()
            .install_default()
            .is_ok()
    );
    // A caller's client, and the same checks of the configuration.
    let with_client =
        StripeProvider::with_client(StripeConfig::new("sk_test_x"), reqwest::Client::new());
    assert!(with_client.is_ok());
    let empty = StripeProvider::with_client(StripeConfig::new(""), reqwest::Client::new());
    assert!(empty.is_err());
}
