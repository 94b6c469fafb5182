//! French and English labels of the pages. The runbook's labels ("Plan actuel", "Sous
//! tension", "Plan recommandé", "Comparer les plans", "Parler à un expert", "Consommation
//! stable", "Lien invalide") are verbatim.

use quota_core::report::{EventKind, RecommendationReason, TimelineEvent};
use quota_core::threshold::Severity;
use quota_core::topup::TopUpStatus;

/// Every fixed label of the pages, in one language.
#[derive(Debug)]
pub(crate) struct Labels {
    /// Before a colon French puts a space, English none: `" : "` / `": "`.
    pub(crate) colon: &'static str,
    pub(crate) cockpit_title: &'static str,
    pub(crate) share_title: &'static str,
    pub(crate) period: &'static str,
    pub(crate) current_plan: &'static str,
    pub(crate) monthly_price: &'static str,
    pub(crate) overage_estimate: &'static str,
    pub(crate) overage_so_far: &'static str,
    pub(crate) estimated_total: &'static str,
    pub(crate) quotas: &'static str,
    pub(crate) used: &'static str,
    pub(crate) limit: &'static str,
    pub(crate) usage: &'static str,
    pub(crate) remaining: &'static str,
    pub(crate) topup_units: &'static str,
    pub(crate) unlimited: &'static str,
    pub(crate) projection: &'static str,
    pub(crate) projected_end: &'static str,
    pub(crate) runs_out_in: &'static str,
    pub(crate) day: &'static str,
    pub(crate) days: &'static str,
    pub(crate) chart: &'static str,
    pub(crate) forecast: &'static str,
    /// The chart's x axis caption, its y axis caption and its legend.
    pub(crate) chart_days: &'static str,
    pub(crate) chart_units: &'static str,
    pub(crate) legend_actual: &'static str,
    pub(crate) legend_median: &'static str,
    pub(crate) legend_band: &'static str,
    pub(crate) legend_allowance: &'static str,
    pub(crate) legend_today: &'static str,
    /// "The axis stops at": followed by the top of the axis and why.
    pub(crate) chart_capped: &'static str,
    pub(crate) chart_capped_reason: &'static str,
    pub(crate) blocked_note: &'static str,
    pub(crate) upgrade: &'static str,
    pub(crate) timeline: &'static str,
    pub(crate) recommended_plan: &'static str,
    pub(crate) compare_plans: &'static str,
    pub(crate) talk_to_expert: &'static str,
    pub(crate) monthly_saving: &'static str,
    pub(crate) extra_cost: &'static str,
    /// "Total prévu avec": followed by a plan name and its projected total.
    pub(crate) projected_total_on: &'static str,
    pub(crate) buy_credits_title: &'static str,
    pub(crate) buy_credits: &'static str,
    pub(crate) metric: &'static str,
    pub(crate) units: &'static str,
    pub(crate) no_topup_metric: &'static str,
    pub(crate) topup_history: &'static str,
    pub(crate) date: &'static str,
    pub(crate) status: &'static str,
    pub(crate) no_topups: &'static str,
    pub(crate) topup_success: &'static str,
    pub(crate) topup_cancel: &'static str,
    pub(crate) share_title_card: &'static str,
    pub(crate) share_hint: &'static str,
    pub(crate) share: &'static str,
    pub(crate) share_url: &'static str,
    pub(crate) valid_until: &'static str,
    pub(crate) copy: &'static str,
    pub(crate) copied: &'static str,
    pub(crate) read_only_until: &'static str,
    pub(crate) monitoring: &'static str,
    pub(crate) plans: &'static str,
    pub(crate) cockpit: &'static str,
    pub(crate) brand: &'static str,
    pub(crate) show: &'static str,
    pub(crate) login_title: &'static str,
    pub(crate) admin_token: &'static str,
    pub(crate) sign_in: &'static str,
    pub(crate) sign_out: &'static str,
    pub(crate) login_hint: &'static str,
    pub(crate) bad_token: &'static str,
    pub(crate) not_admin: &'static str,
    pub(crate) forbidden_title: &'static str,
    pub(crate) cross_origin: &'static str,
    pub(crate) unknown_brand_title: &'static str,
    pub(crate) unknown_brand: &'static str,
    pub(crate) bad_request_title: &'static str,
    pub(crate) unavailable_title: &'static str,
    pub(crate) unavailable: &'static str,
    pub(crate) topup_failed: &'static str,
    pub(crate) share_failed: &'static str,
    pub(crate) bad_units: &'static str,
    pub(crate) store_health: &'static str,
    pub(crate) answered_in: &'static str,
    pub(crate) store_down: &'static str,
    pub(crate) alert_sinks: &'static str,
    pub(crate) sink: &'static str,
    pub(crate) pending: &'static str,
    pub(crate) dead_letters: &'static str,
    pub(crate) no_sink: &'static str,
    pub(crate) server: &'static str,
    pub(crate) checkout_provider: &'static str,
    pub(crate) share_revocations: &'static str,
    pub(crate) dev_clock: &'static str,
    pub(crate) off: &'static str,
    pub(crate) now: &'static str,
    pub(crate) catalog_title: &'static str,
    pub(crate) plan: &'static str,
    pub(crate) price: &'static str,
    pub(crate) per_month: &'static str,
    pub(crate) overage_blocked: &'static str,
    pub(crate) overage_charged: &'static str,
    pub(crate) overage_capped: &'static str,
}

/// French.
pub(crate) const FR: Labels = Labels {
    colon: " : ",
    cockpit_title: "Cockpit des quotas",
    share_title: "Consommation des quotas",
    period: "Période",
    current_plan: "Plan actuel",
    monthly_price: "Prix mensuel",
    overage_estimate: "Estimation des dépassements",
    overage_so_far: "Dépassements à ce jour",
    estimated_total: "Total estimé",
    quotas: "Quotas",
    used: "Utilisé",
    limit: "Limite",
    usage: "Utilisation",
    remaining: "Restant",
    topup_units: "Crédits achetés",
    unlimited: "illimité",
    projection: "Projection",
    projected_end: "Prévu en fin de période",
    runs_out_in: "Épuisement prévu dans",
    day: "jour",
    days: "jours",
    chart: "Consommation cumulée",
    forecast: "prévision en fin de période",
    chart_days: "jours de la période",
    chart_units: "unités",
    legend_actual: "Consommation réelle",
    legend_median: "Projection (médiane)",
    legend_band: "Intervalle à 80 %",
    legend_allowance: "Allocation",
    legend_today: "Aujourd'hui",
    chart_capped: "Axe vertical plafonné à",
    chart_capped_reason: "pour garder la consommation réelle lisible ; le haut de l'intervalle à 80 % est à",
    blocked_note: "Limite atteinte : les nouvelles demandes sont refusées.",
    upgrade: "Passer à un plan supérieur",
    timeline: "Historique",
    recommended_plan: "Plan recommandé",
    compare_plans: "Comparer les plans",
    talk_to_expert: "Parler à un expert",
    monthly_saving: "Économie mensuelle estimée",
    extra_cost: "Surcoût mensuel estimé",
    projected_total_on: "Total prévu avec",
    buy_credits_title: "Recharger des crédits",
    buy_credits: "Acheter des crédits",
    metric: "Métrique",
    units: "Unités",
    no_topup_metric: "Aucune métrique de ce plan n'accepte de recharge.",
    topup_history: "Historique des recharges",
    date: "Date",
    status: "Statut",
    no_topups: "Aucune recharge sur cette période.",
    topup_success: "Paiement confirmé : crédits ajoutés",
    topup_cancel: "Paiement annulé",
    share_title_card: "Lien de partage",
    share_hint: "Un lien en lecture seule vers cet instantané, sans compte.",
    share: "Partager",
    share_url: "Lien à partager",
    valid_until: "valable jusqu'au",
    copy: "Copier",
    copied: "Copié",
    read_only_until: "lien en lecture seule, valable jusqu'au",
    monitoring: "Supervision",
    plans: "Plans",
    cockpit: "Cockpit",
    brand: "Marque",
    show: "Afficher",
    login_title: "Connexion administrateur",
    admin_token: "Jeton administrateur",
    sign_in: "Se connecter",
    sign_out: "Se déconnecter",
    login_hint: "Collez un jeton JWT administrateur (par exemple la sortie de `quota token admin`).",
    bad_token: "Jeton refusé : il est invalide ou expiré.",
    not_admin: "Ce jeton n'est pas un jeton administrateur (une clé publique de marque ne donne pas accès au cockpit).",
    forbidden_title: "Accès refusé",
    cross_origin: "Requête refusée : elle vient d'une autre origine.",
    unknown_brand_title: "Marque inconnue",
    unknown_brand: "Aucune marque n'a cet identifiant.",
    bad_request_title: "Requête invalide",
    unavailable_title: "Temporairement indisponible",
    unavailable: "Merci de réessayer dans un instant.",
    topup_failed: "Le paiement n'a pas pu démarrer",
    share_failed: "Le lien n'a pas pu être créé",
    bad_units: "le nombre d'unités doit être un entier d'au moins 1",
    store_health: "Stockage",
    answered_in: "répond en",
    store_down: "ne répond pas",
    alert_sinks: "Canaux d'alerte",
    sink: "Canal",
    pending: "En attente",
    dead_letters: "Abandonnés",
    no_sink: "aucun canal configuré",
    server: "Serveur",
    checkout_provider: "Paiement",
    share_revocations: "Révocations des liens",
    dev_clock: "Horloge de test",
    off: "désactivée",
    now: "Heure du serveur",
    catalog_title: "Catalogue des plans",
    plan: "Plan",
    price: "Prix",
    per_month: "/ mois",
    overage_blocked: "bloqué à la limite",
    overage_charged: "dépassement facturé",
    overage_capped: "plafonné à",
};

/// English.
pub(crate) const EN: Labels = Labels {
    colon: ": ",
    cockpit_title: "Quota cockpit",
    share_title: "Quota usage",
    period: "Period",
    current_plan: "Current plan",
    monthly_price: "Monthly price",
    overage_estimate: "Estimated overage",
    overage_so_far: "Overage so far",
    estimated_total: "Estimated total",
    quotas: "Quotas",
    used: "Used",
    limit: "Limit",
    usage: "Usage",
    remaining: "Remaining",
    topup_units: "Credits bought",
    unlimited: "unlimited",
    projection: "Projection",
    projected_end: "Projected at period end",
    runs_out_in: "Runs out in",
    day: "day",
    days: "days",
    chart: "Cumulative usage",
    forecast: "forecast at period end",
    chart_days: "days of the period",
    chart_units: "units",
    legend_actual: "Actual usage",
    legend_median: "Projection (median)",
    legend_band: "80% band",
    legend_allowance: "Allowance",
    legend_today: "Today",
    chart_capped: "Vertical axis capped at",
    chart_capped_reason: "to keep the actual usage readable; the top of the 80% band is at",
    blocked_note: "Limit reached: new requests are refused.",
    upgrade: "Upgrade your plan",
    timeline: "Timeline",
    recommended_plan: "Recommended plan",
    compare_plans: "Compare plans",
    talk_to_expert: "Talk to an expert",
    monthly_saving: "Estimated monthly saving",
    extra_cost: "Estimated extra monthly cost",
    projected_total_on: "Projected total on",
    buy_credits_title: "Top up credits",
    buy_credits: "Buy credits",
    metric: "Metric",
    units: "Units",
    no_topup_metric: "No metric of this plan accepts top-ups.",
    topup_history: "Top-up history",
    date: "Date",
    status: "Status",
    no_topups: "No top-up this period.",
    topup_success: "Payment confirmed: credits added",
    topup_cancel: "Payment cancelled",
    share_title_card: "Share link",
    share_hint: "A read-only link to this snapshot, no account needed.",
    share: "Share",
    share_url: "Link to share",
    valid_until: "valid until",
    copy: "Copy",
    copied: "Copied",
    read_only_until: "read-only link, valid until",
    monitoring: "Monitoring",
    plans: "Plans",
    cockpit: "Cockpit",
    brand: "Brand",
    show: "Show",
    login_title: "Admin sign-in",
    admin_token: "Admin token",
    sign_in: "Sign in",
    sign_out: "Sign out",
    login_hint: "Paste an admin JWT (for example the output of `quota token admin`).",
    bad_token: "Token refused: it is invalid or expired.",
    not_admin: "This is not an admin token (a brand's public key does not open the cockpit).",
    forbidden_title: "Access denied",
    cross_origin: "Request refused: it comes from another origin.",
    unknown_brand_title: "Unknown brand",
    unknown_brand: "No brand has this id.",
    bad_request_title: "Invalid request",
    unavailable_title: "Temporarily unavailable",
    unavailable: "Please try again in a moment.",
    topup_failed: "The payment could not start",
    share_failed: "The link could not be created",
    bad_units: "units must be a whole number of at least 1",
    store_health: "Store",
    answered_in: "answers in",
    store_down: "does not answer",
    alert_sinks: "Alert channels",
    sink: "Channel",
    pending: "Pending",
    dead_letters: "Dead letters",
    no_sink: "no channel configured",
    server: "Server",
    checkout_provider: "Checkout",
    share_revocations: "Share-link revocations",
    dev_clock: "Dev clock",
    off: "off",
    now: "Server time",
    catalog_title: "Plan catalog",
    plan: "Plan",
    price: "Price",
    per_month: "/ month",
    overage_blocked: "blocked at the limit",
    overage_charged: "overage charged",
    overage_capped: "capped at",
};

/// The labels of `lang` (`en`, else French).
pub(crate) fn labels(lang: &str) -> &'static Labels {
    if lang == "en" { &EN } else { &FR }
}

/// The badge text of a severity (`None`: under every threshold).
pub(crate) fn severity_label(s: Option<Severity>, lang: &str) -> &'static str {
    let en = lang == "en";
    match s {
        None => "OK",
        Some(Severity::Info) => "Info",
        Some(Severity::Warning) if en => "Warning",
        Some(Severity::Warning) => "Attention",
        Some(Severity::Critical) if en => "Critical",
        Some(Severity::Critical) => "Critique",
        Some(Severity::Overage) if en => "Billed overage",
        Some(Severity::Overage) => "Dépassement facturé",
        Some(Severity::Blocked) if en => "Blocked",
        Some(Severity::Blocked) => "Bloqué",
        Some(_) => "?",
    }
}

/// The CSS / `data-severity` name of a severity (`ok` under every threshold).
pub(crate) fn severity_name(s: Option<Severity>) -> &'static str {
    s.map_or("ok", |s| s.as_str())
}

/// The text of a top-up status.
pub(crate) fn topup_status(s: TopUpStatus, lang: &str) -> &'static str {
    let en = lang == "en";
    match s {
        TopUpStatus::Pending if en => "Pending",
        TopUpStatus::Pending => "En attente",
        TopUpStatus::Completed if en => "Paid",
        TopUpStatus::Completed => "Payé",
        TopUpStatus::Failed if en => "Failed",
        TopUpStatus::Failed => "Échoué",
        TopUpStatus::Expired if en => "Expired",
        TopUpStatus::Expired => "Expiré",
        TopUpStatus::Cancelled if en => "Cancelled",
        TopUpStatus::Cancelled => "Annulé",
        _ => s.as_str(),
    }
}

/// What a timeline event says (plain text, to be escaped by the caller).
pub(crate) fn event_text(e: &TimelineEvent, lang: &str) -> String {
    let en = lang == "en";
    match &e.kind {
        EventKind::ThresholdCrossed {
            threshold,
            used,
            limit,
        } if en => format!("Threshold {threshold} % crossed ({used} / {limit})"),
        EventKind::ThresholdCrossed {
            threshold,
            used,
            limit,
        } => format!("Seuil de {threshold} % franchi ({used} / {limit})"),
        EventKind::AlertResolved { threshold, .. } if en => format!("Back under {threshold} %"),
        EventKind::AlertResolved { threshold, .. } => format!("Repassé sous {threshold} %"),
        EventKind::Blocked { used, limit } if en => {
            format!("Blocked at the limit ({used} / {limit})")
        }
        EventKind::Blocked { used, limit } => format!("Bloqué à la limite ({used} / {limit})"),
        EventKind::RequestRefused {
            requested,
            used,
            limit,
        } if en => {
            format!("Request of {requested} refused: it would pass the limit ({used} / {limit})")
        }
        EventKind::RequestRefused {
            requested,
            used,
            limit,
        } => format!(
            "Demande de {requested} refusée : elle dépasserait la limite ({used} / {limit})"
        ),
        EventKind::TopUpCompleted { units, .. } if en => format!("Top-up of {units} units paid"),
        EventKind::TopUpCompleted { units, .. } => format!("Recharge de {units} unités payée"),
        EventKind::PlanChanged { from, to } if en => format!("Plan changed: {from} → {to}"),
        EventKind::PlanChanged { from, to } => format!("Changement de plan : {from} → {to}"),
        EventKind::PeriodReset { .. } if en => "Period usage reset".to_owned(),
        EventKind::PeriodReset { .. } => "Consommation de la période réinitialisée".to_owned(),
        other => other.name().to_owned(),
    }
}

/// Why a plan is recommended (plain text).
/// The risk note of a recommendation: the metrics it would block at the 90th percentile of
/// the projection, and the safer plan when one holds it.
pub(crate) fn risk_text(blocked: &[String], safer: Option<&str>, lang: &str) -> String {
    let blocked = blocked.join(", ");
    match (lang == "en", safer) {
        (true, Some(plan)) => format!(
            "One chance in ten that usage goes past this plan ({blocked} would be blocked at the high end of the projection): {plan} would hold it."
        ),
        (true, None) => format!(
            "One chance in ten that usage goes past this plan ({blocked} would be blocked at the high end of the projection)."
        ),
        (false, Some(plan)) => format!(
            "Une chance sur dix que la consommation dépasse ce plan ({blocked} serait bloqué en haut de la fourchette prévue) : {plan} la couvrirait."
        ),
        (false, None) => format!(
            "Une chance sur dix que la consommation dépasse ce plan ({blocked} serait bloqué en haut de la fourchette prévue)."
        ),
    }
}

pub(crate) fn reason_text(
    reason: RecommendationReason,
    recommended: Option<&str>,
    blocked: &[String],
    lang: &str,
) -> String {
    let en = lang == "en";
    let name = recommended.unwrap_or("—");
    let blocked = blocked.join(", ");
    match reason {
        RecommendationReason::StayOnCurrent if en => {
            "Your current plan remains the best fit for the projected usage.".to_owned()
        }
        RecommendationReason::StayOnCurrent => {
            "Votre plan actuel reste le mieux adapté à la consommation prévue.".to_owned()
        }
        RecommendationReason::LowerTotalCost if en => {
            format!("{name} would cost less in total for the projected usage (price plus overage).")
        }
        RecommendationReason::LowerTotalCost => format!(
            "{name} coûterait moins cher au total pour la consommation prévue (prix et dépassements)."
        ),
        RecommendationReason::CurrentPlanWouldBlock if en => {
            format!("The current plan would block the projected usage ({blocked}).")
        }
        RecommendationReason::CurrentPlanWouldBlock => {
            format!("Le plan actuel bloquerait la consommation prévue ({blocked}).")
        }
        RecommendationReason::NoPlanFits if en => {
            "No plan of the catalog covers the projected usage: talk to an expert.".to_owned()
        }
        RecommendationReason::NoPlanFits => {
            "Aucun plan du catalogue ne couvre la consommation prévue : parlez à un expert."
                .to_owned()
        }
        _ if en => "See the plan comparison.".to_owned(),
        _ => "Voir la comparaison des plans.".to_owned(),
    }
}
