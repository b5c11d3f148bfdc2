from frappe.model.document import Document


class LoyaltyCampaign(Document):
	pass
