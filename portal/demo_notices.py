"""The wording of Demo Mart's notices, seeded by `seed_demo` so the demo has something to consent to.

Data categories are stored as written (English) and translated when a receipt shows them; marking
them here keeps them in the catalogue.
"""

from django.utils.translation import gettext_noop

CONTACT = "Demo Mart Retail Ltd., privacy office, 1 Demo Street, Shanghai · dpo@demo-mart.example"
CONTACT_ZH = "Demo Mart 零售有限公司个人信息保护办公室，上海市示范街 1 号 · dpo@demo-mart.example"

RIGHTS_EN = (
    "You may withdraw at any time with one tap; it takes effect at once. You may delete your face template "
    "at any time, download a receipt of each consent, and complain to the data protection authority."
)
RIGHTS_ZH = (
    "您可随时一键撤回同意，立即生效。"
    "您可以随时删除您的人脸特征模板、下载每项同意的凭证，并可向个人信息保护监管部门投诉。"
)

DEMO_NOTICES = {
    "face_entry": {
        "title_en": "Face recognition at the door",
        "title_zh_hans": "入口人脸识别",
        "purpose_en": "To recognise you at the entrance of our stores so you can walk in, take and walk out.",
        "purpose_zh_hans": "在门店入口识别您的身份，让您即拿即走。",
        "method_en": (
            "A camera at the door computes a face template and compares it with the template you enrolled. "
            "The photo taken at the door is never kept; a probe that matches no one leaves no trace."
        ),
        "method_zh_hans": (
            "入口摄像头计算人脸特征并与您登记的特征比对。入口拍摄的照片不会保存；未匹配的比对不留任何痕迹。"
        ),
        "retention_en": (
            "Your encrypted face template is kept until your last consent to face recognition is withdrawn or "
            "runs out, or until you delete it; then it is destroyed at once."
        ),
        "retention_zh_hans": (
            "您的加密人脸特征模板保存至您最后一项人脸识别同意被撤回或到期，或您自行删除为止，届时立即销毁。"
        ),
        "retention_days": 365,
        "data_categories": [
            gettext_noop("facial template (biometric)"),
            gettext_noop("entry time"),
            gettext_noop("store and door"),
        ],
    },
    "store_analytics": {
        "title_en": "Visits and shelf dwell",
        "title_zh_hans": "到店与货架停留记录",
        "purpose_en": "To keep your visits and how long you stand at each shelf, to improve the store layout.",
        "purpose_zh_hans": "记录您的到店情况及在各货架前的停留时长，用于改进门店布局。",
        "method_en": "Shelf sensors report dwell time linked to your pseudonymous shopper reference.",
        "method_zh_hans": "货架传感器上报与您的假名化顾客编号关联的停留时长。",
        "retention_en": (
            "Kept for 12 months, or the shorter period you choose (3, 18 or 36 months), then deleted by itself."
        ),
        "retention_zh_hans": "保存 12 个月，或您选择的更短期限（3、18 或 36 个月），到期后自动删除。",
        "retention_days": 365,
        "data_categories": [
            gettext_noop("visits"),
            gettext_noop("shelf dwell (shelf, seconds)"),
            gettext_noop("purchases"),
        ],
    },
    "personalised_offers": {
        "title_en": "Personalised offers",
        "title_zh_hans": "个性化优惠",
        "purpose_en": "To choose offers for you from what you buy in our stores.",
        "purpose_zh_hans": "根据您在我们门店的购买记录为您挑选优惠。",
        "method_en": (
            "Our tills may use each purchase you make after giving this consent to choose offers for you. Your "
            "footprint shows, on every purchase, whether it may be used; withdrawing ends that for all of them "
            "at once."
        ),
        "method_zh_hans": (
            "在您给予本同意之后的每笔购买，我们的收银系统可用于为您挑选优惠。"
            "您的足迹会在每笔购买上标明是否可被使用；撤回同意后，所有购买立即停止使用。"
        ),
        "retention_en": (
            "Purchases are kept with your visits for the shorter of our period and the one you choose; they are "
            "used for offers only while this consent is active."
        ),
        "retention_zh_hans": (
            "购买记录随到店记录保存，期限取我们的期限与您所选期限中较短者；仅在本同意有效期间用于挑选优惠。"
        ),
        "retention_days": 365,
        "data_categories": [gettext_noop("purchases")],
    },
}
