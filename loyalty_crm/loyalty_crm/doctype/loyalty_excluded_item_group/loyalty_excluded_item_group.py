from frappe.model.document import Document


class LoyaltyExcludedItemGroup(Document):
	pass
