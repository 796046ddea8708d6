# This file is part of perpetual_inventory.  The COPYRIGHT file at the top
# level of this repository contains the full copyright notices and license
# terms.
from trytond.pool import PoolMeta


class Line(metaclass=PoolMeta):
    __name__ = 'purchase.line'

    def get_invoice_line(self):
        lines = super().get_invoice_line()
        account = self._goods_received_account()
        if account:
            for line in lines:
                line.account = account
        return lines

    def _goods_received_account(self):
        """Return the goods received not invoiced account the supplier
        invoice line of goods clears, or None.

        When the category's account_stock_in is a liability (goods received
        not invoiced, not continental's stock variation), the receipt
        credited it: the supplier invoice debits it back, instead of an
        expense that would count the goods a second time."""
        if not self.product or self.product.type != 'goods':
            return None
        category = self.product.template.account_category
        account = category.account_stock_in if category else None
        if account and account.type and account.type.statement == 'balance':
            return account
